package containers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/netns"
)

// netEnv is newEnv for the network commands: the network leak check
// registered first (so it runs last), and the default network berthd's
// first network command made removed by its exact name at the end. It returns a Manager on berthd's network state, for what only a
// container would do (attach).
func netEnv(t *testing.T) (*env, *network.Manager) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.CheckNetLeaks(t)
	e := newEnv(t)
	m, err := network.New(network.Options{StateDir: e.netState(), ConfDir: e.netConf()})
	if err != nil {
		t.Skipf("host lacks what the network layer needs: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Remove(context.Background(), "bridge"); err != nil && !errors.Is(err, network.ErrNotFound) {
			t.Errorf("remove the default network: %v", err)
		}
	})
	return e, m
}

// netNames lists the networks `network ls` shows, by name.
func (e *env) netNames() []string {
	e.t.Helper()
	var names []string
	for i, l := range strings.Split(strings.TrimSpace(e.ok("network", "ls")), "\n") {
		if f := strings.Fields(l); i > 0 && len(f) == 4 {
			names = append(names, f[1])
		}
	}
	return names
}

// noNetwork checks name is gone: not listed, no conflist, no IPAM store.
// (Its bridge and rules are the leak check's.)
func (e *env) noNetwork(name string) {
	e.t.Helper()
	if slices.Contains(e.netNames(), name) {
		e.t.Errorf("network %s still listed", name)
	}
	for _, p := range []string{filepath.Join(e.netConf(), name+".conflist"), filepath.Join(e.netState(), "ipam", name)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			e.t.Errorf("left behind: %s (%v)", p, err)
		}
	}
}

// inspectNet returns `network inspect name`'s one object.
func (e *env) inspectNetwork(name string) map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.ok("network", "inspect", name)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("inspect %s: %v (%d objects)", name, err, len(out))
	}
	return out[0]
}

// TestNetworkCreateListInspectRemove: networks made with every create
// flag show in ls (table, -q, json) and inspect as Docker shows them,
// and rm leaves nothing of them.
func TestNetworkCreateListInspectRemove(t *testing.T) {
	e, _ := netEnv(t)
	id := strings.TrimSpace(e.ok("network", "create", "--internal", "--subnet", "10.201.7.0/24", "--gateway", "10.201.7.254",
		"-o", "isolate=true", "--label", "team=a", "t-net1"))
	e.ok("network", "create", "--internal", "--ipv6", "--subnet", "10.201.8.0/24", "--subnet", "fd42:b::/64", "t-net6")
	if got := e.netNames(); !slices.Equal(got, []string{"bridge", "t-net1", "t-net6"}) {
		t.Errorf("ls names: %v", got)
	}
	if out := e.ok("network", "ls", "-q"); !strings.Contains(out, id[:12]+"\n") {
		t.Errorf("ls -q %q lacks %s", out, id[:12])
	}
	var line map[string]string
	for _, l := range strings.Split(strings.TrimSpace(e.ok("network", "ls", "--format", "json")), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("ls --format json line %q: %v", l, err)
		}
		if line["Name"] == "t-net1" {
			break
		}
	}
	if line["ID"] != id[:12] || line["Driver"] != "bridge" || line["Internal"] != "true" || line["Labels"] != "team=a" {
		t.Errorf("ls --format json: %v", line)
	}
	n := e.inspectNetwork("t-net1")
	ipam, _ := json.Marshal(n["IPAM"])
	opts, _ := n["Options"].(map[string]any)
	if n["Name"] != "t-net1" || n["Id"] != id || n["Driver"] != "bridge" || n["Internal"] != true || n["EnableIPv6"] != false ||
		!strings.Contains(string(ipam), `"Config":[{"Gateway":"10.201.7.254","Subnet":"10.201.7.0/24"}]`) ||
		opts["isolate"] != "true" || n["Labels"].(map[string]any)["team"] != "a" || len(n["Containers"].(map[string]any)) != 0 {
		t.Errorf("inspect t-net1: %v", n)
	}
	n6 := e.inspectNetwork("t-net6")
	ipam, _ = json.Marshal(n6["IPAM"])
	if n6["EnableIPv6"] != true || !strings.Contains(string(ipam), `{"Gateway":"fd42:b::1","Subnet":"fd42:b::/64"}`) {
		t.Errorf("inspect t-net6: %v", n6)
	}
	if out := e.ok("network", "rm", "t-net1", "t-net6"); out != "t-net1\nt-net6\n" {
		t.Errorf("rm printed %q", out)
	}
	e.noNetwork("t-net1")
	e.noNetwork("t-net6")
	e.nothingLeft()
}

// TestNetworkErrors: a taken name (host's included), an overlapping
// subnet, a bad subnet or gateway, an unknown option, rm of the default
// network and of a missing one each fail with one line and exit 1,
// leaving no network.
func TestNetworkErrors(t *testing.T) {
	e, _ := netEnv(t)
	e.ok("network", "create", "--internal", "--subnet", "10.201.7.0/24", "t-net1")
	e.networks = append(e.networks, "t-net2") // removed at the end should a create succeed
	e.fails(1, "already exists", "network", "create", "--internal", "t-net1")
	e.fails(1, "predefined network mode", "network", "create", "--internal", "host")
	e.fails(1, "overlaps 10.201.7.0/24", "network", "create", "--internal", "--subnet", "10.201.7.128/25", "t-net2")
	e.fails(1, `bad subnet "10.201.300.0/24"`, "network", "create", "--internal", "--subnet", "10.201.300.0/24", "t-net2")
	e.fails(1, "gateway", "network", "create", "--internal", "--subnet", "10.201.8.0/24", "--gateway", "10.201.9.1", "t-net2")
	e.fails(1, "network option foo=bar", "network", "create", "--internal", "-o", "foo=bar", "t-net2")
	e.fails(1, "the default network stays", "network", "rm", "bridge")
	e.fails(1, "no such network: t-nope", "network", "rm", "t-nope")
	if got := e.netNames(); !slices.Equal(got, []string{"bridge", "t-net1"}) {
		t.Errorf("ls names after the errors: %v", got)
	}
	e.noNetwork("t-net2")
	e.ok("network", "rm", "t-net1")
	e.noNetwork("t-net1")
	e.nothingLeft()
}

// TestNetworkInUse: rm of a network with an attachment is refused naming
// the container, inspect shows it, prune keeps it; after the detach rm
// removes the network, bridge included.
func TestNetworkInUse(t *testing.T) {
	e, m := netEnv(t)
	ctx := context.Background()
	e.ok("network", "create", "--internal", "--subnet", "10.201.7.0/24", "t-net1")
	p, err := netns.Create(m.NetnsDir(), "t-c1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := netns.Remove(p); err != nil {
			t.Error(err)
		}
	}()
	if _, err := m.Attach(ctx, p, "t-c1", "t-net1", network.AttachOptions{Aliases: []string{"web"}}); err != nil {
		t.Fatal(err)
	}
	e.fails(1, "in use by container(s) web (t-c1)", "network", "rm", "t-net1")
	ep, _ := json.Marshal(e.inspectNetwork("t-net1")["Containers"])
	if !strings.Contains(string(ep), `"t-c1":{"IPv4Address":"10.201.7.`) || !strings.Contains(string(ep), `"Name":"web"`) {
		t.Errorf("inspect Containers: %s", ep)
	}
	if out := e.ok("network", "prune", "-f"); out != "" {
		t.Errorf("prune removed %q", out)
	}
	if err := m.Detach(ctx, "t-c1", "t-net1"); err != nil {
		t.Fatal(err)
	}
	e.ok("network", "rm", "t-net1")
	e.noNetwork("t-net1")
	e.nothingLeft()
}

// TestNetworkPrune: prune -f removes the networks no container uses and
// names them; the default network stays.
func TestNetworkPrune(t *testing.T) {
	e, _ := netEnv(t)
	e.ok("network", "create", "--internal", "t-p1")
	e.ok("network", "create", "--internal", "t-p2")
	if out := e.ok("network", "prune", "-f"); out != "Deleted Networks:\nt-p1\nt-p2\n" {
		t.Errorf("prune printed %q", out)
	}
	if got := e.netNames(); !slices.Equal(got, []string{"bridge"}) {
		t.Errorf("ls after prune: %v", got)
	}
	e.noNetwork("t-p1")
	e.noNetwork("t-p2")
	e.nothingLeft()
}

// TestNetworkEvents: `berth events` shows a network's create, a
// container's connect and disconnect, and the network's destroy.
func TestNetworkEvents(t *testing.T) {
	e, _ := netEnv(t)
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "events", "--filter", "type=network")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Until a probe's line arrives the subscription may not be in place;
	// a probe is retried until it does (the wait is no assertion).
	for ready := false; !ready; {
		e.ok("network", "create", "--internal", "t-probe")
		e.ok("network", "rm", "t-probe")
		for waiting := true; waiting && !ready; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("berth events ended")
				}
				ready = strings.Contains(l, " destroy ")
			case <-time.After(200 * time.Millisecond):
				waiting = false
			}
		}
	}
	e.ok("network", "create", "--internal", "t-ev1")
	id := strings.TrimSpace(e.ok("network", "create", "--internal", "t-ev"))
	ctr := strings.TrimSpace(e.ok("create", "--name", "t-evc", "--network", "t-ev1", e.ref, "true"))
	e.ok("network", "connect", "t-ev", "t-evc")
	e.ok("network", "disconnect", "t-ev", "t-evc")
	e.ok("rm", "t-evc")
	e.ok("network", "rm", "t-ev", "t-ev1")
	var got []string
	for l := range lines {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == "network" && f[3] == id {
			got = append(got, f[2])
			if (f[2] == "connect" || f[2] == "disconnect") && !strings.Contains(l, "container="+ctr) {
				t.Errorf("%s names no container %.12s: %s", f[2], ctr, l)
			}
		}
		if strings.Contains(l, " destroy "+id) {
			break
		}
	}
	if !slices.Equal(got, []string{"create", "connect", "disconnect", "destroy"}) {
		t.Errorf("events of network %.12s: %v", id, got)
	}
	e.noNetwork("t-probe")
	e.noNetwork("t-ev")
	e.noNetwork("t-ev1")
	e.nothingLeft()
}
