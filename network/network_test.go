package network_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/network/ports"
)

// setup returns a Manager on a fresh state directory, with the leak
// check registered so that it runs after every other cleanup.
func setup(t *testing.T) (*network.Manager, string) {
	t.Helper()
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("", "berth-net-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	testutil.CheckNetLeaks(t, dir)
	m, err := network.New(network.Options{StateDir: dir})
	if err != nil {
		t.Skipf("host lacks what the network layer needs: %v", err)
	}
	return m, dir
}

// createNet creates an internal network and removes it when the test ends.
func createNet(t *testing.T, m *network.Manager, c network.NetworkConfig) *network.Network {
	t.Helper()
	c.Internal = true
	n, err := m.Create(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Remove(context.Background(), c.Name); err != nil {
			t.Error(err)
		}
	})
	return n
}

// container makes a netns attached to net and undoes both at the end.
func container(t *testing.T, m *network.Manager, id, net string, o network.AttachOptions) (string, *network.Attachment) {
	t.Helper()
	p, err := netns.Create(m.NetnsDir(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Remove(p); err != nil {
			t.Error(err)
		}
	})
	a, err := m.Attach(context.Background(), p, id, net, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Detach(context.Background(), id, net); err != nil {
			t.Error(err)
		}
	})
	return p, a
}

// serve listens on addr inside the netns and answers each connection
// with "hello from NAME\n" until the test ends.
func serve(t *testing.T, nsPath, proto, addr, name string) net.Addr {
	t.Helper()
	var l net.Listener
	if err := netns.Do(nsPath, func() (err error) {
		l, err = net.Listen(proto, addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %s\n", name)
			c.Close()
		}
	}()
	return l.Addr()
}

// dialFrom connects to addr from inside nsPath ("" for the host) and
// returns the first line read.
func dialFrom(nsPath, proto, addr string) (string, error) {
	var c net.Conn
	dial := func() (err error) {
		c, err = net.DialTimeout(proto, addr, 10*time.Second)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = netns.Do(nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func firstIP(t *testing.T, a *network.Attachment, v6 bool) netip.Addr {
	t.Helper()
	for _, p := range a.IPs {
		if p.Addr().Is6() == v6 {
			return p.Addr()
		}
	}
	t.Fatalf("attachment %+v has no IPv6=%v address", a, v6)
	return netip.Addr{}
}

func TestSameNetworkReachEachOther(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-same", Subnet: "10.201.1.0/24"})
	a, _ := container(t, m, "bt-a", "bt-same", network.AttachOptions{Aliases: []string{"alpha"}})
	b, bAtt := container(t, m, "bt-b", "bt-same", network.AttachOptions{Aliases: []string{"beta", "db"}})
	serve(t, b, "tcp", ":8080", "b")
	got, err := dialFrom(a, "tcp", net.JoinHostPort(firstIP(t, bAtt, false).String(), "8080"))
	if err != nil || got != "hello from b\n" {
		t.Fatalf("a → b = %q, %v", got, err)
	}
	peers, err := m.Peers(context.Background(), "bt-same", "bt-a")
	if err != nil || len(peers) != 1 || strings.Join(peers[0].Names, ",") != "beta,db" ||
		len(peers[0].IPs) != 1 || peers[0].IPs[0] != firstIP(t, bAtt, false) {
		t.Errorf("Peers of bt-a = %+v, %v; want beta,db at %v", peers, err, bAtt.IPs)
	}
}

func TestDifferentNetworksCannotReach(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-one", Subnet: "10.201.2.0/24", Isolate: true})
	createNet(t, m, network.NetworkConfig{Name: "bt-two", Subnet: "10.201.3.0/24", Isolate: true})
	a, _ := container(t, m, "bt-a", "bt-one", network.AttachOptions{})
	b, bAtt := container(t, m, "bt-b", "bt-two", network.AttachOptions{})
	serve(t, b, "tcp", ":8080", "b")
	_, err := dialFrom(a, "tcp", net.JoinHostPort(firstIP(t, bAtt, false).String(), "8080"))
	if !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("a → b on another network: %v, want ENETUNREACH", err)
	}
}

func TestInternalNetworkHasNoRouteOut(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-int", Subnet: "10.201.4.0/24"})
	a, att := container(t, m, "bt-a", "bt-int", network.AttachOptions{})
	if len(att.Gateways) != 1 || att.Gateways[0].String() != "10.201.4.1" {
		t.Errorf("gateways = %v, want [10.201.4.1]", att.Gateways)
	}
	// TEST-NET-1: unroutable by design; no packet leaves without a route.
	if _, err := dialFrom(a, "tcp", "192.0.2.1:9"); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("dial out of an internal network: %v, want ENETUNREACH", err)
	}
}

func TestPublishedPortOnLoopback(t *testing.T) {
	m, _ := setup(t)
	n := createNet(t, m, network.NetworkConfig{Name: "bt-ports", Subnet: "10.201.5.0/24"})
	p, err := netns.Create(m.NetnsDir(), "bt-web")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Remove(p) })
	serve(t, p, "tcp", ":80", "web")
	a, err := m.Attach(context.Background(), p, "bt-web", "bt-ports", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Detach(context.Background(), "bt-web", "bt-ports") })
	if len(a.Ports) != 1 || a.Ports[0].HostPort == 0 {
		t.Fatalf("published ports = %+v, want one with a chosen host port", a.Ports)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", a.Ports[0].HostPort)
	if got, err := dialFrom("", "tcp", addr); err != nil || got != "hello from web\n" {
		t.Fatalf("dial %s = %q, %v", addr, got, err)
	}
	// The loopback path is portmap's route_localnet, guarded by Berth's rule.
	if b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + n.Bridge + "/route_localnet"); err != nil || string(b) != "1\n" {
		t.Errorf("route_localnet on %s = %q, %v; want 1", n.Bridge, b, err)
	}
	if err := exec.Command("iptables", "-w", "-C", "INPUT", "-i", n.Bridge, "-d", "127.0.0.0/8", "-m", "conntrack",
		"!", "--ctstate", "RELATED,ESTABLISHED", "-m", "comment", "--comment", "berth: no route_localnet from "+n.Bridge, "-j", "DROP").Run(); err != nil {
		t.Errorf("no guard rule for %s: %v", n.Bridge, err)
	}
}

// TestHairpin checks Berth's per-network masquerade rule (portmap's
// snat is off): a container reaches a port published on the bridge's
// address by itself and by a neighbour on the same network.
func TestHairpin(t *testing.T) {
	m, _ := setup(t)
	n := createNet(t, m, network.NetworkConfig{Name: "bt-hairpin", Subnet: "10.201.20.0/24"})
	if !n.OwnSNAT {
		t.Fatal("a new network leaves masquerading to portmap")
	}
	// b first: its ADD makes the bridge, whose address a's port needs.
	b, _ := container(t, m, "bt-b", "bt-hairpin", network.AttachOptions{})
	a, att := container(t, m, "bt-a", "bt-hairpin", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: n.Gateway, ContainerPort: 80, Protocol: "tcp"}}})
	serve(t, a, "tcp", ":80", "a")
	addr := net.JoinHostPort(n.Gateway, fmt.Sprint(att.Ports[0].HostPort))
	for name, from := range map[string]string{"itself": a, "a neighbour": b} {
		if got, err := dialFrom(from, "tcp", addr); err != nil || got != "hello from a\n" {
			t.Errorf("%s → %s = %q, %v", name, addr, got, err)
		}
	}
}

// TestRulesFoundAfterRestart checks a fresh Manager (berthd restarted)
// puts back a network rule the host lost, at the first attachment that
// publishes a port, and that the network's removal finds it.
func TestRulesFoundAfterRestart(t *testing.T) {
	m, dir := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-rerule", Subnet: "10.201.21.0/24"})
	n, err := m.Inspect(context.Background(), "bt-rerule")
	if err != nil {
		t.Fatal(err)
	}
	loopback := []string{"-t", "nat", "POSTROUTING", "-o", n.Bridge, "-s", "127.0.0.0/8", "-m", "conntrack", "--ctstate", "DNAT",
		"-m", "comment", "--comment", "berth: loopback to ports published on " + n.Bridge, "-j", "MASQUERADE"}
	iptables := func(op string) error {
		return exec.Command("iptables", append([]string{"-w", loopback[0], loopback[1], op}, loopback[2:]...)...).Run()
	}
	if err := iptables("-D"); err != nil {
		t.Fatalf("no loopback masquerade rule for %s: %v", n.Bridge, err)
	}
	fresh, err := network.New(network.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, att := container(t, fresh, "bt-a", "bt-rerule", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}})
	serve(t, p, "tcp", ":80", "a")
	if err := iptables("-C"); err != nil {
		t.Errorf("the fresh Manager did not put the rule back: %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", att.Ports[0].HostPort)
	if got, err := dialFrom("", "tcp", addr); err != nil || got != "hello from a\n" {
		t.Errorf("dial %s = %q, %v", addr, got, err)
	}
}

func TestPortInUseRefusedBeforeAnyRule(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-busy", Subnet: "10.201.6.0/24"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	p, err := netns.Create(m.NetnsDir(), "bt-a")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	_, err = m.Attach(context.Background(), p, "bt-a", "bt-busy", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "tcp"}}})
	if !errors.Is(err, ports.ErrInUse) {
		t.Fatalf("Attach with a port in use = %v, want ErrInUse", err)
	}
}

// TestAttachTwiceRefused: a second attachment of one container to one
// network is refused whether or not it asks for ports (without ports
// the manager reads only that container's cached attachments), and a
// host port an attachment holds is refused to the next.
func TestAttachTwiceRefused(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-twice", Subnet: "10.201.22.0/24"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	pm := []ports.Mapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "tcp"}}
	a, _ := container(t, m, "bt-a", "bt-twice", network.AttachOptions{Ports: pm})
	for _, o := range []network.AttachOptions{{}, {Ports: pm}} {
		if _, err := m.Attach(context.Background(), a, "bt-a", "bt-twice", o); !errors.Is(err, network.ErrAlreadyExists) {
			t.Errorf("attach bt-a again (ports %v) = %v, want ErrAlreadyExists", o.Ports, err)
		}
	}
	container(t, m, "bt-b", "bt-twice", network.AttachOptions{})
	p, err := netns.Create(m.NetnsDir(), "bt-c")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	if _, err := m.Attach(context.Background(), p, "bt-c", "bt-twice", network.AttachOptions{Ports: pm}); !errors.Is(err, ports.ErrInUse) {
		t.Errorf("attach bt-c with bt-a's host port = %v, want ErrInUse", err)
	}
}

func TestOverlappingSubnetAndTakenNameRefused(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-ov", Subnet: "10.201.8.0/24"})
	ctx := context.Background()
	if _, err := m.Create(ctx, network.NetworkConfig{Name: "bt-ov2", Subnet: "10.201.0.0/16"}); !errors.Is(err, network.ErrConflict) {
		t.Errorf("overlapping subnet: %v, want ErrConflict", err)
	}
	if _, err := m.Create(ctx, network.NetworkConfig{Name: "bt-ov", Subnet: "10.201.9.0/24"}); !errors.Is(err, network.ErrAlreadyExists) {
		t.Errorf("taken name: %v, want ErrAlreadyExists", err)
	}
	if _, err := m.Create(ctx, network.NetworkConfig{Name: "bt-gw", Subnet: "10.201.9.0/24", Gateway: "10.201.10.1"}); !errors.Is(err, network.ErrInvalidArgument) {
		t.Errorf("gateway outside subnet: %v, want ErrInvalidArgument", err)
	}
	if _, err := m.Create(ctx, network.NetworkConfig{Name: "bad/name"}); !errors.Is(err, network.ErrInvalidArgument) {
		t.Errorf("bad name: %v, want ErrInvalidArgument", err)
	}
	all, err := m.List(ctx)
	if err != nil || len(all) != 1 || all[0].Name != "bt-ov" || !all[0].Owned {
		t.Errorf("List = %+v, %v; want only bt-ov", all, err)
	}
}

func TestRemoveInUseRefused(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-used", Subnet: "10.201.11.0/24"})
	container(t, m, "bt-a", "bt-used", network.AttachOptions{})
	if err := m.Remove(context.Background(), "bt-used"); !errors.Is(err, network.ErrConflict) {
		t.Fatalf("Remove of a network in use = %v, want ErrConflict", err)
	}
	atts, err := m.Attachments(context.Background(), "bt-used")
	if err != nil || len(atts) != 1 || atts[0].ContainerID != "bt-a" {
		t.Errorf("Attachments = %+v, %v", atts, err)
	}
}

func TestFailingPluginLeavesNothing(t *testing.T) {
	m, dir := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-fail", Subnet: "10.201.12.0/24"})
	p, err := netns.Create(m.NetnsDir(), "bt-a")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	ctx := context.Background()
	// host-local refuses an address outside its range, after bridge made the veth.
	if _, err := m.Attach(ctx, p, "bt-a", "bt-fail", network.AttachOptions{IP: "10.201.99.5"}); err == nil {
		t.Fatal("Attach with an IP outside the subnet succeeded")
	}
	// An operator's conflist whose second plugin does not exist.
	conf := `{"cniVersion":"1.0.0","name":"bt-missing","plugins":[
		{"type":"bridge","bridge":"bt-missing0","isGateway":true,"ipMasq":false,
		 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.201.13.0/24"}]],"dataDir":"` + filepath.Join(dir, "ipam") + `"}},
		{"type":"no-such-plugin"}]}`
	if err := os.WriteFile(filepath.Join(dir, "net.d", "50-missing.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.Remove(filepath.Join(dir, "net.d", "50-missing.conflist"))
		deleteLink(t, "bt-missing0")
	}()
	_, err = m.Attach(ctx, p, "bt-a", "bt-missing", network.AttachOptions{})
	if err == nil || !strings.Contains(err.Error(), "no-such-plugin") {
		t.Fatalf("Attach through a missing plugin = %v", err)
	}
	if err := m.Remove(ctx, "bt-missing"); !errors.Is(err, network.ErrConflict) {
		t.Errorf("Remove of an operator's network = %v, want ErrConflict", err)
	}
	if atts, _ := m.Attachments(ctx, ""); len(atts) != 0 {
		t.Errorf("attachments left: %+v", atts)
	}
}

func TestDetachFromFreshManager(t *testing.T) {
	m, dir := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-restart", Subnet: "10.201.14.0/24"})
	p, err := netns.Create(m.NetnsDir(), "bt-a")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	ctx := context.Background()
	if _, err := m.Attach(ctx, p, "bt-a", "bt-restart", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}}); err != nil {
		t.Fatal(err)
	}
	fresh, err := network.New(network.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Detach(ctx, "bt-a", "bt-restart"); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Detach(ctx, "bt-a", "bt-restart"); !errors.Is(err, network.ErrNotFound) {
		t.Errorf("second Detach = %v, want ErrNotFound", err)
	}
}

func TestIPv6DualStack(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/default/disable_ipv6"); err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Skip("host has IPv6 disabled or absent")
	}
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-v6", Subnet: "10.201.15.0/24", IPv6: true, Subnet6: "fd42:b3e7:1::/64"})
	a, _ := container(t, m, "bt-a", "bt-v6", network.AttachOptions{})
	b, bAtt := container(t, m, "bt-b", "bt-v6", network.AttachOptions{})
	serve(t, b, "tcp", ":8080", "b")
	for _, v6 := range []bool{false, true} {
		addr := net.JoinHostPort(firstIP(t, bAtt, v6).String(), "8080")
		if got, err := dialFrom(a, "tcp", addr); err != nil || got != "hello from b\n" {
			t.Errorf("a → %s = %q, %v", addr, got, err)
		}
	}
}

func TestDefaultNetwork(t *testing.T) {
	m, _ := setup(t)
	ctx := context.Background()
	n, err := m.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Remove(ctx, n.Name)
	b, err := os.ReadFile(n.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "bridge" || n.Bridge != "berth0" || n.Internal || !strings.Contains(string(b), `"0.0.0.0/0"`) ||
		!strings.Contains(string(b), `"ipMasq": false`) {
		t.Errorf("default network = %+v\n%s", n, b)
	}
	if again, err := m.EnsureDefault(ctx); err != nil || again.Subnet != n.Subnet {
		t.Errorf("second EnsureDefault = %+v, %v", again, err)
	}
}

func TestFixedIPAndMAC(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-fixed", Subnet: "10.201.16.0/24"})
	p, a := container(t, m, "bt-a", "bt-fixed", network.AttachOptions{IP: "10.201.16.77", MAC: "02:42:0a:c9:10:4d", Aliases: []string{"web"}})
	if len(a.IPs) != 1 || a.IPs[0].String() != "10.201.16.77/24" {
		t.Errorf("IPs = %v, want [10.201.16.77/24]", a.IPs)
	}
	var mac string
	if err := netns.Do(p, func() error {
		i, err := net.InterfaceByName("eth0")
		if err == nil {
			mac = i.HardwareAddr.String()
		}
		return err
	}); err != nil || mac != "02:42:0a:c9:10:4d" || a.MAC != mac {
		t.Errorf("eth0 MAC = %q (result %q), %v; want 02:42:0a:c9:10:4d", mac, a.MAC, err)
	}
	atts, err := m.Attachments(context.Background(), "bt-fixed")
	if err != nil || len(atts) != 1 || len(atts[0].Aliases) != 1 || atts[0].Aliases[0] != "web" {
		t.Errorf("Attachments = %+v, %v; want one with alias web", atts, err)
	}
}

// TestLoopbackGuard checks a container cannot reach a service bound to
// the host's loopback through the bridge, whose route_localnet portmap
// sets: the container routes 127.1.2.3 to its gateway and dials it.
func TestLoopbackGuard(t *testing.T) {
	m, _ := setup(t)
	n := createNet(t, m, network.NetworkConfig{Name: "bt-guard", Subnet: "10.201.17.0/24"})
	p, _ := container(t, m, "bt-a", "bt-guard", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}})
	l, err := net.Listen("tcp", "127.1.2.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "host loopback")
			c.Close()
		}
	}()
	if err := netns.Do(p, func() error {
		for _, args := range [][]string{
			{"sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"},
			{"ip", "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"},
			{"ip", "route", "add", "127.1.2.3/32", "via", "10.201.17.1", "dev", "eth0"},
		} {
			if b, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%v: %w: %s", args, err, b)
			}
		}
		return nil
	}); err != nil {
		t.Skipf("cannot route loopback out of the netns here: %v", err)
	}
	var c net.Conn
	_ = netns.Do(p, func() (err error) {
		c, err = net.DialTimeout("tcp", l.Addr().String(), 500*time.Millisecond)
		return err
	})
	if c != nil {
		c.Close()
		t.Fatalf("container reached the host's %s through %s", l.Addr(), n.Bridge)
	}
}

func TestCancelledAttachLeavesNothing(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-cancel", Subnet: "10.201.18.0/24"})
	p, err := netns.Create(m.NetnsDir(), "bt-a")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Attach(ctx, p, "bt-a", "bt-cancel", network.AttachOptions{
		Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}}); err == nil {
		t.Fatal("Attach with a cancelled context succeeded")
	}
	if atts, _ := m.Attachments(context.Background(), ""); len(atts) != 0 {
		t.Errorf("attachments left: %+v", atts)
	}
}

// TestKilledDuringSetupLeavesNothing cancels an ADD while its second
// plugin runs, after bridge made the veth and host-local the reservation.
func TestKilledDuringSetupLeavesNothing(t *testing.T) {
	_, dir := setup(t)
	plugins := filepath.Join(dir, "plugins")
	marker := filepath.Join(dir, "hang-started")
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then : > " + marker + "; exec sleep 600; fi\n"
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "hang"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(plugins, "hang"))
	defer os.Remove(marker)
	m, err := network.New(network.Options{StateDir: dir, PluginDirs: []string{plugins, "/usr/lib/cni"}})
	if err != nil {
		t.Fatal(err)
	}
	conf := `{"cniVersion":"1.0.0","name":"bt-hang","plugins":[
		{"type":"bridge","bridge":"bt-hang0","isGateway":true,"ipMasq":false,
		 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.201.19.0/24"}]],"dataDir":"` + filepath.Join(dir, "ipam") + `"}},
		{"type":"hang"}]}`
	confPath := filepath.Join(dir, "net.d", "50-hang.conflist")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.Remove(confPath)
		os.RemoveAll(filepath.Join(dir, "ipam", "bt-hang"))
		deleteLink(t, "bt-hang0")
	}()
	p, err := netns.Create(m.NetnsDir(), "bt-a")
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Remove(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := m.Attach(ctx, p, "bt-a", "bt-hang", network.AttachOptions{})
		errc <- err
	}()
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("Attach ended before the hanging plugin ran: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("Attach killed during setup succeeded")
	}
	if atts, _ := m.Attachments(context.Background(), ""); len(atts) != 0 {
		t.Errorf("attachments left: %+v", atts)
	}
}

// TestConcurrentAttachesGetDistinctPorts attaches ten containers at once,
// each publishing a port the Manager picks, and dials every one.
func TestConcurrentAttachesGetDistinctPorts(t *testing.T) {
	m, _ := setup(t)
	createNet(t, m, network.NetworkConfig{Name: "bt-many", Subnet: "10.201.21.0/24"})
	const n = 10
	paths := make([]string, n)
	for i := range paths {
		id := fmt.Sprintf("bt-c%d", i)
		p, err := netns.Create(m.NetnsDir(), id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netns.Remove(p) })
		serve(t, p, "tcp", ":80", id)
		paths[i] = p
	}
	atts := make([]*network.Attachment, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var err error
			atts[i], err = m.Attach(context.Background(), paths[i], fmt.Sprintf("bt-c%d", i), "bt-many", network.AttachOptions{
				Ports: []ports.Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i, a := range atts {
		if a == nil {
			continue
		}
		id := fmt.Sprintf("bt-c%d", i)
		t.Cleanup(func() {
			if err := m.Detach(context.Background(), id, "bt-many"); err != nil {
				t.Error(err)
			}
		})
		addr := fmt.Sprintf("127.0.0.1:%d", a.Ports[0].HostPort)
		if got, err := dialFrom("", "tcp", addr); err != nil || got != "hello from "+id+"\n" {
			t.Errorf("dial %s = %q, %v; want %s", addr, got, err, id)
		}
	}
}
