package containers_test

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/network"
)

// newIPv6Env is newNetEnv on a host with IPv6, probed as `network
// create --ipv6` probes it; the test is skipped, with the reason, on a
// host without.
func newIPv6Env(t *testing.T) *env {
	t.Helper()
	if err := network.HostIPv6(); err != nil {
		t.Skipf("host lacks IPv6: %v", err)
	}
	return newNetEnv(t)
}

// createIPv6Network makes an internal dual-stack network through the
// CLI with args (e.g. --subnet) and returns its IPv6 subnet from
// `network inspect`; the env removes it if the test does not.
func (e *env) createIPv6Network(name string, args ...string) netip.Prefix {
	e.t.Helper()
	e.ok(append(append([]string{"network", "create", "--internal", "--ipv6"}, args...), name)...)
	e.networks = append(e.networks, name)
	var ipam struct {
		Config []struct{ Subnet, Gateway string }
	}
	b, _ := json.Marshal(e.inspectNetwork(name)["IPAM"])
	_ = json.Unmarshal(b, &ipam)
	for _, c := range ipam.Config {
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is6() {
			return p
		}
	}
	e.t.Fatalf("network inspect %s shows no IPv6 subnet: %s", name, b)
	return netip.Prefix{}
}

// ipv6Endpoint checks a running container's inspect shows an IPv6
// address in subnet, with its prefix length and the subnet's gateway,
// both at the top of NetworkSettings and under Networks[net], and
// returns the address.
func (e *env) ipv6Endpoint(ctr, net string, subnet netip.Prefix) netip.Addr {
	e.t.Helper()
	ns := e.inspectNet(ctr)
	ep, _ := ns["Networks"].(map[string]any)[net].(map[string]any)
	a, err := netip.ParseAddr(str(ns["GlobalIPv6Address"]))
	gw := subnet.Addr().Next().String()
	for _, doc := range []map[string]any{ns, ep} {
		if err != nil || !subnet.Contains(a) || str(doc["GlobalIPv6Address"]) != a.String() ||
			doc["GlobalIPv6PrefixLen"] != float64(subnet.Bits()) || doc["IPv6Gateway"] != gw || doc["IPAddress"] == nil {
			e.t.Errorf("inspect %s: want an IPv6 address in %s, prefix length %d, gateway %s, and an IPv4 address: %v", ctr, subnet, subnet.Bits(), gw, doc)
		}
	}
	return a
}

func str(v any) string { s, _ := v.(string); return s }

// TestIPv6DualStack: on networks created with --ipv6, with a ULA subnet
// Berth picks and with one given by --subnet, two containers each get
// an IPv6 address (inspect and network inspect show it as Docker does),
// ping each other's address and each other's name over IPv6 through
// /etc/hosts, which lists both of a container's addresses.
func TestIPv6DualStack(t *testing.T) {
	e := newIPv6Env(t)
	for _, c := range []struct {
		net  string
		args []string
	}{{"t-v6auto", nil}, {"t-v6sub", []string{"--subnet", "fd42:b6:1::/64"}}} {
		subnet := e.createIPv6Network(c.net, c.args...)
		if len(c.args) > 0 && subnet.String() != "fd42:b6:1::/64" {
			t.Errorf("%s: IPv6 subnet %s, want fd42:b6:1::/64", c.net, subnet)
		}
		a, b := c.net+"-a", c.net+"-b"
		for _, n := range []string{a, b} {
			e.ok("run", "-d", "--name", n, "--network", c.net, e.ref, "sleep", "1000")
		}
		addrA, addrB := e.ipv6Endpoint(a, c.net, subnet), e.ipv6Endpoint(b, c.net, subnet)
		var eps map[string]struct{ Name, IPv4Address, IPv6Address string }
		raw, _ := json.Marshal(e.inspectNetwork(c.net)["Containers"])
		_ = json.Unmarshal(raw, &eps)
		seen := map[string]string{}
		for _, ep := range eps {
			seen[ep.Name] = ep.IPv6Address
			if ep.IPv4Address == "" {
				t.Errorf("network inspect %s: %s has no IPv4Address: %s", c.net, ep.Name, raw)
			}
		}
		suffix := "/" + strings.TrimPrefix(subnet.String(), subnet.Addr().String()+"/")
		if seen[a] != addrA.String()+suffix || seen[b] != addrB.String()+suffix {
			t.Errorf("network inspect %s Containers: %s; want %s at %s%s and %s at %s%s", c.net, raw, a, addrA, suffix, b, addrB, suffix)
		}
		// As with Docker: one line per address, the container's own
		// under its hostname.
		hosts := e.ok("exec", a, "cat", "/etc/hosts")
		hostname := strings.TrimSpace(e.ok("exec", a, "cat", "/etc/hostname"))
		for _, want := range []string{addrA.String() + "\t" + hostname, addrB.String() + "\t" + b} {
			if !strings.Contains(hosts, want+"\n") && !strings.Contains(hosts, want+" ") {
				t.Errorf("%s's /etc/hosts lacks %q:\n%s", a, want, hosts)
			}
		}
		for _, to := range []string{addrB.String(), b} {
			if out, errs, code := e.berth("exec", a, "busybox", "ping", "-6", "-c1", "-W2", to); code != 0 {
				t.Errorf("%s cannot ping -6 %s (exit %d): %s%s", a, to, code, out, errs)
			}
		}
		if out, errs, code := e.berth("exec", b, "busybox", "ping", "-6", "-c1", "-W2", a); code != 0 {
			t.Errorf("%s cannot ping -6 %s (exit %d): %s%s", b, a, code, out, errs)
		}
		e.ok("rm", "-f", a, b)
		e.ok("network", "rm", c.net)
		e.noNetwork(c.net)
	}
	e.noNetns()
	e.nothingLeft()
}

// TestIPv6PublishedPort: a port published from a container on a
// dual-stack network answers on the host's 127.0.0.1; one on the
// host's ::1, which portmap cannot forward, is refused with one line,
// exit 125, and leaves no container.
func TestIPv6PublishedPort(t *testing.T) {
	e := newIPv6Env(t)
	e.createIPv6Network("t-v6web")
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("hello over dual stack\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("run", "-d", "--name", "web6", "--network", "t-v6web", "-p", "127.0.0.1::80", "-v", www+":/www:ro",
		e.ref, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
	hostPort, ok := strings.CutPrefix(strings.TrimSpace(e.ok("port", "web6", "80/tcp")), "127.0.0.1:")
	if !ok {
		t.Fatalf("berth port web6 80/tcp: no 127.0.0.1 port")
	}
	if body := httpGet(t, "http://"+net.JoinHostPort("127.0.0.1", hostPort)+"/index.html"); body != "hello over dual stack\n" {
		t.Errorf("GET 127.0.0.1:%s: %q", hostPort, body)
	}
	e.fails(125, "::1 cannot be published on", "run", "-d", "--network", "t-v6web", "-p", "[::1]::80", e.ref, "true")
	if out := e.ok("ps", "-a", "-q"); len(strings.Fields(out)) != 1 {
		t.Errorf("containers after the refused [::1] port: %q", out)
	}
	e.ok("rm", "-f", "web6")
	e.ok("network", "rm", "t-v6web")
	e.noNetwork("t-v6web")
	e.noNetns()
	e.nothingLeft()
}

// TestIPv6SubnetErrors: an IPv6 subnet overlapping another network's,
// and one given without --ipv6, are refused with one line and exit 1,
// and leave no network.
func TestIPv6SubnetErrors(t *testing.T) {
	e := newIPv6Env(t)
	e.createIPv6Network("t-v6one", "--subnet", "fd42:b6:2::/64")
	e.networks = append(e.networks, "t-v6two") // should a create succeed
	e.fails(1, "overlaps fd42:b6:2::/64", "network", "create", "--internal", "--ipv6", "--subnet", "fd42:b6:2::/80", "t-v6two")
	e.fails(1, "overlaps fd42:b6:2::/64", "network", "create", "--internal", "--ipv6", "--subnet", "fd42:b6::/32", "t-v6two")
	e.fails(1, "needs --ipv6", "network", "create", "--internal", "--subnet", "fd42:b6:3::/64", "t-v6two")
	e.noNetwork("t-v6two")
	e.ok("network", "rm", "t-v6one")
	e.noNetwork("t-v6one")
	e.nothingLeft()
}
