package containers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
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
	// As Docker's, an exited container lists its network without an address.
	ns = e.inspectNet("sleeper")
	nets, _ := ns["Networks"].(map[string]any)
	if bridge, _ := nets["bridge"].(map[string]any); len(nets) != 1 || bridge == nil || bridge["IPAddress"] != "" || ns["IPAddress"] != nil {
		t.Errorf("an exited container shows an address, or not its network: %v", ns)
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

// TestPublishedPort: -p 127.0.0.1::80 publishes busybox httpd's port on
// a free loopback port that `berth port`, ps and inspect show, and the
// test's own HTTP GET there gets the file; a host port in use is a
// one-line error, exit 125, and leaves nothing.
func TestPublishedPort(t *testing.T) {
	e := newNetEnv(t)
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("hello from berth\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "-v", www+":/www:ro", e.ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
	line := strings.TrimSpace(e.ok("port", "web"))
	hostPort, ok := strings.CutPrefix(line, "80/tcp -> 127.0.0.1:")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("berth port web: %q", line)
	}
	if got := strings.TrimSpace(e.ok("port", "web", "80/tcp")); got != "127.0.0.1:"+hostPort {
		t.Errorf("berth port web 80/tcp: %q", got)
	}
	if ps := e.ok("ps"); !strings.Contains(ps, "127.0.0.1:"+hostPort+"->80/tcp") {
		t.Errorf("ps does not show the port:\n%s", ps)
	}
	ports, _ := e.inspectNet("web")["Ports"].(map[string]any)
	if b, _ := json.Marshal(ports); !strings.Contains(string(b), `"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"`+hostPort+`"}]`) {
		t.Errorf("inspect Ports: %s", b)
	}
	body := httpGet(t, "http://127.0.0.1:"+hostPort+"/index.html")
	if body != "hello from berth\n" {
		t.Errorf("GET: %q", body)
	}

	// The same host port again, and one a listener holds.
	e.fails(125, "in use", "run", "-d", "-p", "127.0.0.1:"+hostPort+":80", e.ref, "true")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, held, _ := net.SplitHostPort(l.Addr().String())
	e.fails(125, "in use", "run", "--rm", "-p", "127.0.0.1:"+held+":80", e.ref, "true")
	if out := e.ok("ps", "-a", "-q"); len(strings.Fields(out)) != 1 {
		t.Errorf("containers after the failures: %q", out)
	}
	// Taken between create and start: the start fails and leaves no
	// namespace or attachment.
	l.Close()
	late := strings.TrimSpace(e.ok("create", "--name", "late", "-p", "127.0.0.1:"+held+":80", e.ref, "true"))
	if l, err = net.Listen("tcp", "127.0.0.1:"+held); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e.fails(1, "in use", "start", "late")
	if m, _ := filepath.Glob(filepath.Join(e.netState(), "*", "*"+late+"*")); len(m) > 0 {
		t.Errorf("the failed start left: %v", m)
	}
	e.ok("rm", "late")
	e.ok("rm", "-f", "web")
	e.noNetns()
	e.nothingLeft()
}

// httpGet fetches url, retrying while the server in the container is
// not yet listening (a refused connection), and returns the body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	for i := 0; ; i++ {
		resp, err := http.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s %v", url, resp.Status, err)
			}
			return string(b)
		}
		if i == 500 || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEtcFlags: --hostname, --dns, --dns-search, --dns-option,
// --add-host and --mac-address reach the container's files and
// interface; --ip fixes its address on a user network; --network
// container:NAME shares that container's interface and is refused when
// NAME does not run.
func TestEtcFlags(t *testing.T) {
	e := newNetEnv(t)
	out := e.ok("run", "--rm", "--hostname", "flagged", "--dns", "127.0.0.53", "--dns-search", "example.test",
		"--dns-option", "ndots:2", "--add-host", "db:10.1.2.3", "--mac-address", "02:42:ac:11:00:42", e.ref,
		"sh", "-c", "cat /etc/hostname /etc/hosts /etc/resolv.conf /sys/class/net/eth0/address")
	for _, want := range []string{"flagged\n", "10.1.2.3\tdb\n", "\tflagged\n", "nameserver 127.0.0.53\nsearch example.test\noptions ndots:2\n", "02:42:ac:11:00:42\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the container's files lack %q:\n%s", want, out)
		}
	}

	name, subnet := e.createNetwork()
	ip := netip.MustParsePrefix(subnet).Addr().Next().Next().Next().Next().String() // .4
	e.ok("run", "-d", "--name", "owner", "--network", name, "--ip", ip, e.ref, "sleep", "1000")
	addrs := func(args ...string) string {
		return strings.TrimSpace(e.ok(append(append([]string{"run", "--rm"}, args...), e.ref, "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address")...))
	}
	owner := strings.TrimSpace(e.ok("exec", "owner", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address"))
	if !strings.HasPrefix(owner, ip+"/") {
		t.Errorf("--ip %s: the container has %q", ip, owner)
	}
	if got := addrs("--network", "container:owner"); got != owner {
		t.Errorf("container:owner sees %q, owner has %q", got, owner)
	}
	e.ok("create", "--name", "guest", "--network", "container:owner", e.ref, "true")
	e.ok("stop", "-t", "0", "owner")
	e.fails(1, "not running", "start", "guest")
	e.fails(1, "guest share its network namespace", "rm", "-f", "owner")
	if out := e.ok("rm", "owner", "guest"); strings.Fields(out)[0] != "guest" {
		t.Errorf("rm owner guest: removed in the order %q, want guest first", out)
	}
	e.noNetns()
	e.nothingLeft()
}

// TestNameResolution: containers on one user network reach each other by
// name and --network-alias through their hosts files, which follow
// containers joining and leaving and stay in place while berthd is
// down; on the default bridge names do not resolve, as with Docker.
func TestNameResolution(t *testing.T) {
	e := newNetEnv(t)
	name, _ := e.createNetwork()
	e.ok("run", "-d", "--name", "alpha", "--network", name, "--network-alias", "db", e.ref, "sleep", "1000")
	e.ok("run", "-d", "--name", "beta", "--network", name, e.ref, "sleep", "1000")
	ping := func(from, to string) int {
		_, _, code := e.berth("exec", from, "busybox", "ping", "-c1", "-W2", to)
		return code
	}
	for _, p := range [][2]string{{"alpha", "beta"}, {"beta", "alpha"}, {"beta", "db"}} {
		if code := ping(p[0], p[1]); code != 0 {
			t.Errorf("%s cannot ping %s (exit %d); hosts:\n%s", p[0], p[1], code, e.ok("exec", p[0], "cat", "/etc/hosts"))
		}
	}
	// berthd down: alpha's hosts file, seen through its root, still
	// names beta.
	var docs []struct{ State struct{ Pid int } }
	if err := json.Unmarshal([]byte(e.ok("inspect", "alpha")), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("inspect alpha: %v", err)
	}
	e.stopBerthd()
	hosts, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/hosts", docs[0].State.Pid))
	if err != nil || !strings.Contains(string(hosts), "\tbeta\n") {
		t.Errorf("alpha's hosts with berthd down: %v\n%s", err, hosts)
	}
	e.start()
	e.ok("rm", "-f", "beta")
	if hosts := e.ok("exec", "alpha", "cat", "/etc/hosts"); strings.Contains(hosts, "beta") {
		t.Errorf("alpha's hosts still names beta:\n%s", hosts)
	}
	e.ok("run", "-d", "--name", "gamma", e.ref, "sleep", "1000")
	if hosts := e.ok("exec", "gamma", "cat", "/etc/hosts"); strings.Contains(hosts, "alpha") {
		t.Errorf("a container on the default bridge resolves alpha:\n%s", hosts)
	}
	e.ok("rm", "-f", "alpha", "gamma")
	e.noNetns()
	e.nothingLeft()
}

// TestPublishAll: -P publishes each of the image's exposed ports on a
// free host port, except those a -p publishes already.
func TestPublishAll(t *testing.T) {
	e := newNetEnv(t)
	img, err := registrytest.BusyboxImage(registrytest.Gzip, false)
	if err != nil {
		t.Fatal(err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}}
	data, _ := json.Marshal(cfg)
	img.Config = registrytest.Blob{MediaType: img.Config.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
	if img, err = registrytest.RebuildManifest(img); err != nil {
		t.Fatal(err)
	}
	e.reg.PushImage(t, "test/exposed", "v1", img)
	e.ok("run", "-d", "--name", "exposed", "-P", "-p", "127.0.0.1::80", e.reg.Host+"/test/exposed:v1", "sleep", "1000")
	lines := strings.Split(strings.TrimSpace(e.ok("port", "exposed")), "\n")
	var got []string
	for _, l := range lines {
		p, host, _ := strings.Cut(l, " -> ")
		ip, _, _ := net.SplitHostPort(host)
		got = append(got, p+"@"+ip)
	}
	if strings.Join(got, " ") != "80/tcp@127.0.0.1 53/udp@0.0.0.0" {
		t.Errorf("berth port exposed: %q", lines)
	}
	e.ok("rm", "-f", "exposed")
	e.noNetns()
	e.nothingLeft()
}
