package containers_test

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ctrID returns the full ID and the PID of the container name.
func (e *env) ctrID(name string) (string, int) {
	e.t.Helper()
	var docs []struct {
		ID    string `json:"Id"`
		State struct{ Pid int }
	}
	if err := json.Unmarshal([]byte(e.ok("inspect", name)), &docs); err != nil || len(docs) != 1 {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return docs[0].ID, docs[0].State.Pid
}

// netsOf returns inspect's NetworkSettings.Networks of the container.
func (e *env) netsOf(name string) map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	nets, _ := e.inspectNet(name)["Networks"].(map[string]any)
	for k, v := range nets {
		out[k], _ = v.(map[string]any)
	}
	return out
}

// attachedIn lists the cached attachments (libcni's results) of the
// container id: what is attached to a network.
func (e *env) attachedIn(id string) []string {
	e.t.Helper()
	m, _ := filepath.Glob(filepath.Join(e.netState(), "cache", "results", "*"+id+"*"))
	return m
}

// pings reports whether from reaches to with one ping.
func (e *env) pings(from, to string) bool {
	_, _, code := e.berth("exec", from, "busybox", "ping", "-c1", "-W2", to)
	return code == 0
}

// TestNetworkConnect: A on net1 and B on net2 cannot reach each other;
// after `network connect --alias web net2 A` A has eth1 on net2, reaches
// B by name, B reaches A as web, and inspect lists both networks;
// disconnect takes the interface and the names away again. A container
// on two networks is detached from both when it stops, when it dies
// while berthd is down (after a SIGKILL), and when it is removed running;
// connect, disconnect and the stop's detach work after berthd was
// killed and restarted.
func TestNetworkConnect(t *testing.T) {
	e := newNetEnv(t)
	net1, _ := e.createNetwork()
	net2, subnet2 := e.createNetwork()
	e.ok("run", "-d", "--name", "ca", "--network", net1, e.ref, "sleep", "1000")
	e.ok("run", "-d", "--name", "cb", "--network", net2, e.ref, "sleep", "1000")
	bIP, _ := e.netsOf("cb")[net2]["IPAddress"].(string)
	if e.pings("ca", bIP) {
		t.Errorf("a on %s reaches b (%s) on %s", net1, bIP, net2)
	}

	e.ok("network", "connect", "--alias", "web", net2, "ca")
	eth1 := strings.Fields(e.ok("exec", "ca", "sh", "-c", "ip -4 -o addr show eth1"))
	if len(eth1) < 4 || !netip.MustParsePrefix(subnet2).Contains(netip.MustParsePrefix(eth1[3]).Addr()) {
		t.Fatalf("a's eth1 is not on %s (%s): %v", net2, subnet2, eth1)
	}
	if !e.pings("ca", "cb") {
		t.Errorf("ca cannot ping cb after connect; hosts:\n%s", e.ok("exec", "ca", "cat", "/etc/hosts"))
	}
	if !e.pings("cb", "web") || !e.pings("cb", "ca") {
		t.Errorf("cb cannot ping ca as ca and web; hosts:\n%s", e.ok("exec", "cb", "cat", "/etc/hosts"))
	}
	nets := e.netsOf("ca")
	aIP2 := netip.MustParsePrefix(eth1[3]).Addr().String()
	if len(nets) != 2 || nets[net1]["IPAddress"] == "" || nets[net2]["IPAddress"] != aIP2 ||
		!slices.Equal(toStrings(nets[net2]["Aliases"]), []string{"web"}) {
		t.Errorf("inspect a's Networks: %v", nets)
	}

	e.ok("network", "disconnect", net2, "ca")
	if _, _, code := e.berth("exec", "ca", "ip", "link", "show", "eth1"); code == 0 {
		t.Error("a keeps eth1 after disconnect")
	}
	if e.pings("ca", bIP) {
		t.Errorf("a reaches b (%s) after disconnect", bIP)
	}
	if hosts := e.ok("exec", "cb", "cat", "/etc/hosts"); strings.Contains(hosts, "web") || strings.Contains(hosts, "\tca\n") {
		t.Errorf("b's hosts still names a:\n%s", hosts)
	}
	if nets := e.netsOf("ca"); len(nets) != 1 || nets[net1] == nil {
		t.Errorf("inspect a's Networks after disconnect: %v", nets)
	}

	// On two networks, stopped: both attachments go; started again: both
	// come back, eth1 with its --ip.
	fixed := netip.MustParsePrefix(subnet2).Addr().Next().Next().Next().Next().Next().Next().Next().Next().Next().String() // .9
	e.ok("network", "connect", "--ip", fixed, net2, "ca")
	id, _ := e.ctrID("ca")
	if got := e.attachedIn(id); len(got) != 2 {
		t.Errorf("a's attachments on two networks: %v", got)
	}
	e.ok("stop", "-t", "0", "ca")
	if got := e.attachedIn(id); len(got) != 0 {
		t.Errorf("a stopped keeps attachments: %v", got)
	}
	e.ok("start", "ca")
	if nets := e.netsOf("ca"); nets[net2]["IPAddress"] != fixed {
		t.Errorf("ca restarted: --ip %s, inspect's %s entry: %v", fixed, net2, nets[net2])
	}
	if !e.pings("ca", "cb") {
		t.Errorf("ca restarted cannot ping cb; hosts:\n%s", e.ok("exec", "ca", "cat", "/etc/hosts"))
	}

	// berthd killed and restarted while ca runs: disconnect and connect
	// still work, and a stop detaches both networks.
	_ = e.berthd.Process.Kill()
	_ = e.berthd.Wait()
	e.start()
	e.ok("network", "disconnect", net2, "ca")
	if e.pings("ca", bIP) {
		t.Errorf("ca reaches cb (%s) after a disconnect following a berthd restart", bIP)
	}
	e.ok("network", "connect", net2, "ca")
	e.ok("stop", "-t", "0", "ca")
	if got := e.attachedIn(id); len(got) != 0 {
		t.Errorf("ca stopped after a berthd restart keeps attachments: %v", got)
	}
	e.ok("start", "ca")

	// berthd killed, then ca killed while berthd is down: the next berthd
	// detaches both networks.
	_, pid := e.ctrID("ca")
	_ = e.berthd.Process.Kill()
	_ = e.berthd.Wait()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	e.start()
	e.ok("wait", "ca")
	if got := e.attachedIn(id); len(got) != 0 {
		t.Errorf("a died with berthd down; its attachments stay: %v", got)
	}
	if hosts := e.ok("exec", "cb", "cat", "/etc/hosts"); strings.Contains(hosts, "\tca\n") {
		t.Errorf("b's hosts still names a after it died:\n%s", hosts)
	}
	// Removed while it runs on two networks: both attachments go.
	e.ok("start", "ca")
	e.ok("rm", "-f", "ca", "cb")
	e.noNetns()
	e.nothingLeft()
}

// toStrings turns a decoded JSON array of strings into a []string.
func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// TestNetworkConnectStopped: connect of a stopped container records the
// network (inspect shows it, without an address) and its next start
// attaches it as eth1; `network rm` of that network is refused while the
// container is connected and works after disconnect, which for a stopped
// container only updates the record.
func TestNetworkConnectStopped(t *testing.T) {
	e := newNetEnv(t)
	net1, _ := e.createNetwork()
	net2, subnet2 := e.createNetwork()
	e.ok("create", "--name", "cc", "--network", net1, e.ref, "sleep", "1000")
	e.ok("network", "connect", "--alias", "cache", net2, "cc")
	if nets := e.netsOf("cc"); len(nets) != 2 || nets[net2] == nil || nets[net2]["IPAddress"] != "" {
		t.Errorf("inspect c's Networks before start: %v", nets)
	}
	e.fails(1, "connected to it", "network", "rm", net2)
	e.ok("start", "cc")
	eth1 := strings.Fields(e.ok("exec", "cc", "sh", "-c", "ip -4 -o addr show eth1"))
	if len(eth1) < 4 || !netip.MustParsePrefix(subnet2).Contains(netip.MustParsePrefix(eth1[3]).Addr()) {
		t.Errorf("c's eth1 is not on %s (%s): %v", net2, subnet2, eth1)
	}
	e.fails(1, "in use", "network", "rm", net2)
	e.ok("stop", "-t", "0", "cc")
	e.fails(1, "connected to it", "network", "rm", net2)
	e.ok("network", "disconnect", net2, "cc")
	if nets := e.netsOf("cc"); len(nets) != 1 || nets[net1] == nil {
		t.Errorf("inspect c's Networks after disconnect: %v", nets)
	}
	e.ok("network", "rm", net2)
	e.noNetwork(net2)
	e.ok("start", "cc")
	if _, _, code := e.berth("exec", "cc", "ip", "link", "show", "eth1"); code == 0 {
		t.Error("c has eth1 after disconnect and a new start")
	}
	e.ok("rm", "-f", "cc")
	e.noNetns()
	e.nothingLeft()
}

// TestNetworkConnectErrors: an unknown network or container, a network
// the container is on already, a disconnect from a network it is not
// connected to or from its own, a container without a namespace of its
// own, an --ip outside the network's subnet and two --network at run each fail with one line, exit 1 (125
// for run), and change nothing.
func TestNetworkConnectErrors(t *testing.T) {
	e := newNetEnv(t)
	net1, _ := e.createNetwork()
	net2, _ := e.createNetwork()
	e.ok("run", "-d", "--name", "ca", "--network", net1, e.ref, "sleep", "1000")
	e.ok("create", "--name", "cn", "--network", "none", e.ref, "true")
	e.ok("create", "--name", "ch", "--network", "host", e.ref, "true")
	e.ok("create", "--name", "cg", "--network", "container:ca", e.ref, "true")
	e.fails(1, "no such network: t-nope", "network", "connect", "t-nope", "ca")
	e.fails(1, "no such container", "network", "connect", net2, "nope")
	e.fails(1, "already connected", "network", "connect", net1, "ca")
	e.fails(1, "not connected", "network", "disconnect", net2, "ca")
	e.fails(1, "only networks added with connect", "network", "disconnect", net1, "ca")
	e.fails(1, "--alias", "network", "connect", "--alias", "bad name", net2, "ca")
	e.fails(1, "outside network", "network", "connect", "--ip", "192.0.2.10", net2, "ca")
	e.fails(125, "outside network", "run", "--rm", "--network", net2, "--ip", "192.0.2.10", e.ref, "true")
	for _, c := range []string{"cn", "ch", "cg"} {
		e.fails(1, "cannot be connected", "network", "connect", net2, c)
	}
	e.fails(125, "add others with berth network connect", "run", "--rm", "--network", net1, "--network", net2, e.ref, "true")
	if nets := e.netsOf("ca"); len(nets) != 1 || nets[net1] == nil {
		t.Errorf("inspect a's Networks after the errors: %v", nets)
	}
	if _, _, code := e.berth("exec", "ca", "ip", "link", "show", "eth1"); code == 0 {
		t.Error("a failed connect left eth1")
	}
	e.ok("network", "disconnect", "-f", net2, "ca")
	e.ok("rm", "-f", "ca", "cn", "ch", "cg")
	e.noNetns()
	e.nothingLeft()
}

// TestNetworkRmKeepsStoppedUsersNetwork: a network a stopped container
// was created on is not removed (its next start would find it gone);
// once prune has removed it (after a container sharing its netns, which
// holds it back), the network goes.
func TestNetworkRmKeepsStoppedUsersNetwork(t *testing.T) {
	e := newNetEnv(t)
	net1, _ := e.createNetwork()
	e.ok("create", "--name", "cs", "--network", net1, e.ref, "true")
	e.fails(1, "cs were created on it", "network", "rm", net1)
	if out := e.ok("network", "prune", "-f"); strings.Contains(out, net1) {
		t.Errorf("prune removed %s: %q", net1, out)
	}
	e.ok("start", "-a", "cs")
	e.ok("create", "--name", "cs2", "--network", "container:cs", e.ref, "true")
	out := e.ok("container", "prune", "-f")
	if n := strings.Count(out, "\n"); !strings.Contains(out, "Deleted Containers") || n != 3 {
		t.Errorf("prune of cs and cs2 (sharing its netns): %q", out)
	}
	e.ok("network", "rm", net1)
	e.noNetwork(net1)
	e.noNetns()
	e.nothingLeft()
}
