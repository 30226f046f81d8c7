package containers_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// newNetEnv is newEnv with the network leak check registered first, so
// that it runs after berthd stopped and the default network is gone.
func newNetEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.CheckNetLeaks(t)
	e := newEnv(t)
	e.ok("pull", e.ref)
	return e
}

// inspectNet returns a container's inspect NetworkSettings.
func (e *env) inspectNet(name string) map[string]any {
	e.t.Helper()
	var docs []struct{ NetworkSettings map[string]any }
	if err := json.Unmarshal([]byte(e.ok("inspect", name)), &docs); err != nil || len(docs) != 1 {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return docs[0].NetworkSettings
}

// noNetns checks berthd holds no network namespace and no attachment.
func (e *env) noNetns() {
	e.t.Helper()
	for _, glob := range []string{"netns/*", "cache/results/*"} {
		if m, _ := filepath.Glob(filepath.Join(e.netState(), glob)); len(m) > 0 {
			e.t.Errorf("left behind: %v", m)
		}
	}
}

// TestDefaultBridge: without --network a container is on the default
// bridge network: an address in its subnet, a route to its gateway, and
// generated /etc/hostname, /etc/hosts and resolv.conf (the host's
// loopback resolvers dropped); its namespace and attachment go when it
// exits, also when berthd was down meanwhile.
func TestDefaultBridge(t *testing.T) {
	e := newNetEnv(t)
	script := `cat /etc/hostname /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; ip -4 -o addr show eth0; ping -c1 -W2 $(ip route | awk '/default/ {print $3}') >/dev/null && echo gateway-ok`
	out := e.ok("run", "--rm", "--hostname", "web1", e.ref, "sh", "-c", script)
	t.Logf("%s", out)
	parts := strings.Split(out, "---\n")
	if len(parts) != 3 {
		t.Fatalf("output: %q", out)
	}
	cfg, _ := os.ReadFile(filepath.Join(e.dir, "berthd.toml"))
	_, rest, _ := strings.Cut(string(cfg), `default_subnet = "`)
	subnet := netip.MustParsePrefix(strings.TrimSuffix(strings.TrimSpace(rest), `"`))
	f := strings.Fields(parts[2])
	if len(f) < 4 {
		t.Fatalf("eth0: %q", parts[2])
	}
	addr := netip.MustParsePrefix(f[3])
	if !subnet.Contains(addr.Addr()) || !strings.Contains(parts[2], "gateway-ok") {
		t.Errorf("eth0 %s not in %s or gateway unreachable: %q", addr, subnet, parts[2])
	}
	if !strings.HasPrefix(parts[0], "web1\n") || !strings.Contains(parts[0], addr.Addr().String()+"\tweb1\n") || !strings.Contains(parts[0], "127.0.0.1\tlocalhost") {
		t.Errorf("hostname and hosts: %q", parts[0])
	}
	if strings.Contains(parts[1], "nameserver 127.") || strings.Contains(parts[1], "nameserver ::1") {
		t.Errorf("resolv.conf keeps a loopback resolver: %q", parts[1])
	}
	e.noNetns()

	// berthd down while the container exits: the next berthd detaches it.
	e.ok("run", "-d", "--name", "sleeper", e.ref, "sleep", "1000")
	ns := e.inspectNet("sleeper")
	if ns["IPAddress"] == nil || ns["SandboxKey"] == "" {
		t.Errorf("inspect NetworkSettings: %v", ns)
	}
	var docs []struct{ State struct{ Pid int } }
	if err := json.Unmarshal([]byte(e.ok("inspect", "sleeper")), &docs); err != nil || len(docs) != 1 || docs[0].State.Pid == 0 {
		t.Fatalf("inspect sleeper: %v %v", err, docs)
	}
	e.stopBerthd()
	pid := docs[0].State.Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	e.start()
	e.ok("wait", "sleeper")
	e.noNetns()
	if ns := e.inspectNet("sleeper"); len(ns["Networks"].(map[string]any)) != 0 {
		t.Errorf("an exited container shows a network: %v", ns)
	}
	e.ok("rm", "sleeper")
	e.nothingLeft()
}

// stopBerthd stops the env's berthd; its containers run on.
func (e *env) stopBerthd() {
	e.t.Helper()
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
}
