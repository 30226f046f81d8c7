package dockerapi_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newNetwork names a network of the test's with a free-looking subnet
// (10.170-199.x.0/24, apart from the env's default network's): its
// bridge's name derives from the unique name, and the env removes it by
// that name when the test ends should the test not have.
func (e *env) newNetwork() (name, subnet string) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name = fmt.Sprintf("dn-%x", b)
	e.networks = append(e.networks, name)
	return name, fmt.Sprintf("10.%d.%d.0/24", 170+int(b[0])%30, b[1])
}

// noNetwork checks name is gone: not listed, no conflist. (Its bridge
// and rules are the leak check's.)
func (e *env) noNetwork(name string) {
	e.t.Helper()
	if out := e.ok("network", "ls", "--format", "{{.Name}}"); slices.Contains(strings.Fields(out), name) {
		e.t.Errorf("network %s still listed", name)
	}
	p := filepath.Join(e.dir, "root", "network", "net.d", name+".conflist")
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("left behind: %s (%v)", p, err)
	}
}

// netInspect returns `network inspect name`'s one object.
func (e *env) netInspect(name string) map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.ok("network", "inspect", name)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("network inspect %s: %v (%d objects)", name, err, len(out))
	}
	return out[0]
}

// netContainers names the containers `network inspect` lists.
func (e *env) netContainers(name string) []string {
	e.t.Helper()
	return lines(e.ok("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", name))
}

// pings reports whether a new container on network reaches to with one
// ping.
func (e *env) pings(network, to string) bool {
	e.t.Helper()
	out, stderr, code := e.docker("run", "--rm", "--network", network, e.ref, "busybox", "ping", "-c1", "-W2", to)
	if code != 0 {
		e.t.Logf("ping %s on %s: exit %d\n%s%s", to, network, code, out, stderr)
	}
	return code == 0
}

// TestNetworkLifecycle: a network made with a subnet and labels shows
// in ls (filters) and inspect as Docker shows it; two containers run on
// it with -v NAMED:/d reach each other by name and inspect lists them; a
// running container is connected (alias, fixed address) to a second
// network and disconnected; a created container lists the network it
// will join, leaves it and joins another before it starts (the moves
// Compose 1 makes); rm of a network in use is refused and prune
// keeps it, and everything goes at the end. The networks are internal:
// no traffic leaves the host's namespaces made here.
func TestNetworkLifecycle(t *testing.T) {
	e := newEnv(t)
	net1, sub1 := e.newNetwork()
	net2, sub2 := e.newNetwork()
	id := e.ok("network", "create", "--internal", "--subnet", sub1, "--label", "team=a", net1)
	e.ok("network", "create", "--internal", "--subnet", sub2, net2)
	if got := lines(e.ok("network", "ls", "--format", "{{.Name}}")); !slices.Equal(got, lines("bridge "+net1+" "+net2)) {
		t.Errorf("network ls: %v", got)
	}
	for filter, want := range map[string]string{
		"name=" + net1: net1, "id=" + id[:12]: net1, "label=team=a": net1, "label=team=b": "",
		"type=builtin": "bridge", "driver=bridge": "bridge " + net1 + " " + net2,
	} {
		got := lines(e.ok("network", "ls", "--format", "{{.Name}}", "--filter", filter))
		if !slices.Equal(got, lines(want)) {
			t.Errorf("network ls --filter %s: %v, want %q", filter, got, want)
		}
	}
	n := e.netInspect(net1)
	ipam, _ := json.Marshal(n["IPAM"])
	if n["Name"] != net1 || n["Id"] != id || n["Driver"] != "bridge" || n["Scope"] != "local" || n["Internal"] != true ||
		!strings.Contains(string(ipam), `"Subnet":"`+sub1+`"`) || n["Labels"].(map[string]any)["team"] != "a" ||
		len(n["Containers"].(map[string]any)) != 0 {
		t.Errorf("network inspect %s: %v", net1, n)
	}

	e.ok("run", "-d", "--name", "web", "--network", net1, "-v", "netvol:/d", e.ref, "sleep", "1000")
	e.ok("run", "-d", "--name", "db", "--network", net1, "--network-alias", "store", "-v", "netvol:/d", e.ref, "sleep", "1000")
	if got := e.netContainers(net1); !slices.Equal(got, []string{"db", "web"}) {
		t.Errorf("network inspect %s lists %v, want db and web", net1, got)
	}
	if !e.pings(net1, "web") || !e.pings(net1, "store") {
		t.Errorf("a container on %s cannot ping web and store", net1)
	}
	if got := e.ok("inspect", "--format", "{{(index .NetworkSettings.Networks \""+net1+"\").NetworkID}}", "web"); got != id {
		t.Errorf("web's NetworkID on %s: %q, want %s", net1, got, id)
	}

	ip := strings.TrimSuffix(sub2, "0/24") + "77"
	e.ok("network", "connect", "--alias", "web2", "--ip", ip, net2, "web")
	if got := e.ok("inspect", "--format", "{{(index .NetworkSettings.Networks \""+net2+"\").IPAddress}}", "web"); got != ip {
		t.Errorf("web's address on %s: %q, want %s", net2, got, ip)
	}
	if got := e.netContainers(net2); !slices.Equal(got, []string{"web"}) {
		t.Errorf("network inspect %s lists %v after connect", net2, got)
	}
	if !e.pings(net2, "web2") {
		t.Errorf("a container on %s cannot ping web by its alias web2", net2)
	}
	e.fails("already connected", "network", "connect", net2, "web")
	e.ok("network", "disconnect", net2, "web")
	if got := e.netContainers(net2); len(got) != 0 {
		t.Errorf("network inspect %s lists %v after disconnect", net2, got)
	}
	e.fails("not connected", "network", "disconnect", net2, "web")

	// Before it runs, a container lists the network it will join, and
	// it may leave it and join another (Compose 1 does so with each new
	// container).
	nets := "{{.HostConfig.NetworkMode}}:{{range $n, $ep := .NetworkSettings.Networks}} {{$n}}={{$ep.Aliases}}{{end}}"
	e.ok("create", "--name", "idle", "--network", net1, "--network-alias", "a1", e.ref, "sleep", "1000")
	if got := e.ok("inspect", "--format", nets, "idle"); got != net1+": "+net1+"=[a1]" {
		t.Errorf("a created container's networks: %q", got)
	}
	e.ok("network", "disconnect", net1, "idle")
	if got := e.ok("inspect", "--format", nets, "idle"); got != "none:" {
		t.Errorf("networks after it left %s: %q", net1, got)
	}
	e.ok("network", "connect", "--alias", "a2", net2, "idle")
	if got := e.ok("inspect", "--format", nets, "idle"); got != net2+": "+net2+"=[a2]" {
		t.Errorf("networks after it joined %s: %q", net2, got)
	}
	e.ok("start", "idle")
	if !e.pings(net2, "a2") {
		t.Errorf("a container on %s cannot ping idle by its alias a2", net2)
	}
	e.fails("only networks added with connect", "network", "disconnect", net2, "idle")
	e.ok("rm", "-f", "idle")

	e.fails("in use", "network", "rm", net1)
	if out := e.ok("network", "prune", "-f", "--filter", "label=team=b"); out != "" {
		t.Errorf("network prune --filter label=team=b printed %q", out)
	}
	if out := e.ok("network", "prune", "-f"); out != "Deleted Networks:\n"+net2 {
		t.Errorf("network prune printed %q, want %s deleted", out, net2)
	}
	e.noNetwork(net2)
	e.ok("rm", "-f", "web", "db")
	if out := e.ok("network", "rm", net1); out != net1 {
		t.Errorf("network rm printed %q", out)
	}
	e.noNetwork(net1)
	e.ok("volume", "rm", "netvol")
	e.noVolumes()
	e.nothingLeft()
}

// TestNetworkBadInput: an unknown network or container, a taken name, a
// bad or overlapping subnet, another driver and an unknown option each
// fail with Docker's status and one line, leaving no network.
func TestNetworkBadInput(t *testing.T) {
	e := newEnv(t)
	net1, sub1 := e.newNetwork()
	net2, _ := e.newNetwork()
	e.ok("network", "create", "--internal", "--subnet", sub1, net1)
	e.fails("already exists", "network", "create", "--internal", net1)
	e.fails(`bad subnet "10.1.300.0/24"`, "network", "create", "--internal", "--subnet", "10.1.300.0/24", net2)
	e.fails("overlaps", "network", "create", "--internal", "--subnet", sub1, net2)
	e.fails(`network driver "overlay" is not served`, "network", "create", "-d", "overlay", net2)
	e.fails("network option foo=bar", "network", "create", "--internal", "-o", "foo=bar", net2)
	e.fails("no such network", "network", "inspect", "nosuchnet")
	e.fails("no such network", "network", "rm", "nosuchnet")
	e.fails("the default network stays", "network", "rm", "bridge")
	e.fails("nosuchctr", "network", "connect", net1, "nosuchctr")
	e.fails("no such network", "network", "connect", "nosuchnet", "nosuchctr")
	if _, stderr, code := e.docker("run", "--rm", "--network", "nosuchnet", e.ref, "true"); code != 125 || !strings.Contains(stderr, `network "nosuchnet": not found`) {
		t.Errorf("docker run --network nosuchnet: exit %d, %q; want 125 and not found", code, stderr)
	}
	for _, req := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/networks/nosuchnet", "", 404},
		{"DELETE", "/networks/nosuchnet", "", 404},
		{"POST", "/networks/create", `{"Name":"` + net1 + `","Internal":true}`, 409},
		{"POST", "/networks/create", `{"Name":"` + net2 + `","IPAM":{"Config":[{"Subnet":"nonsense"}]}}`, 400},
		{"POST", "/networks/create", `{"Name": `, 400},
		{"POST", "/networks/" + net1 + "/connect", `{"Container":"nosuchctr"}`, 404},
		{"GET", `/networks?filters={"type":["odd"]}`, "", 400},
		{"POST", `/networks/prune?filters={"until":["1h"]}`, "", 400},
	} {
		code, _, body := e.request(req.method, strings.ReplaceAll(req.path, `"`, "%22"), req.body)
		if code != req.want || errMessage(t, body) == "" {
			t.Errorf("%s %s %s: %d %s, want %d", req.method, req.path, req.body, code, body, req.want)
		}
	}
	e.noNetwork(net2)
	e.ok("network", "rm", net1)
	e.noNetwork(net1)
	e.nothingLeft()
}
