package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Options configure a Manager.
type Options struct {
	StateDir   string   // required: netns/, cni cache, IPAM store, lock
	ConfDir    string   // conflists; default StateDir/net.d
	PluginDirs []string // default /usr/lib/cni, /opt/cni/bin

	// The default bridge network, made by EnsureDefault.
	DefaultNetwork string // default "bridge"
	DefaultSubnet  string // default 10.66.0.0/16
	DefaultBridge  string // default "berth0"
}

// Plugins a Manager needs in its plugin directories.
var requiredPlugins = []string{"bridge", "host-local", "portmap", "firewall"}

// A Manager creates networks and attaches network namespaces to them.
// Its methods are safe for concurrent use; ADDs and DELs run in parallel.
// Several processes may share one state directory (changes to networks
// are serialised with an flock), but a host port is only known to be
// taken by another process's attachment once that one's ADD finished.
type Manager struct {
	opts     Options
	cni      *libcni.CNIConfig
	mu       sync.Mutex
	inflight map[string]inflight // by network and container ID, under mu
	ruled    map[string]bool     // networks whose rules this Manager ensured, under mu
	// nocache runs DELs that must not read or remove libcni's cache
	// entry (del): its cache directory is never written.
	nocache *libcni.CNIConfig
}

// New checks the plugin directories hold every plugin Berth's conflists
// use and returns a Manager.
func New(opts Options) (*Manager, error) {
	if opts.StateDir == "" {
		return nil, fmt.Errorf("network: %w: no state directory", ErrInvalidArgument)
	}
	if opts.ConfDir == "" {
		opts.ConfDir = filepath.Join(opts.StateDir, "net.d")
	}
	if len(opts.PluginDirs) == 0 {
		opts.PluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	if opts.DefaultNetwork == "" {
		opts.DefaultNetwork = "bridge"
	}
	if opts.DefaultSubnet == "" {
		opts.DefaultSubnet = "10.66.0.0/16"
	}
	if opts.DefaultBridge == "" {
		opts.DefaultBridge = "berth0"
	}
	for _, p := range requiredPlugins {
		if _, err := invoke.FindInPath(p, opts.PluginDirs); err != nil {
			return nil, fmt.Errorf("network: CNI plugin %q: %w: not in %v", p, ErrNotFound, opts.PluginDirs)
		}
	}
	for _, d := range []string{opts.StateDir, opts.ConfDir, filepath.Join(opts.StateDir, "cache"), filepath.Join(opts.StateDir, "ipam")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	exec, err := newPluginExec(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	return &Manager{
		opts:     opts,
		inflight: map[string]inflight{},
		ruled:    map[string]bool{},
		cni:      libcni.NewCNIConfigWithCacheDir(opts.PluginDirs, filepath.Join(opts.StateDir, "cache"), exec),
		nocache:  libcni.NewCNIConfigWithCacheDir(opts.PluginDirs, filepath.Join(opts.StateDir, "cache", "none"), exec),
	}, nil
}

// NetnsDir is where the Manager's callers hold containers' namespaces.
func (m *Manager) NetnsDir() string { return filepath.Join(m.opts.StateDir, "netns") }

func (m *Manager) ipamDir() string { return filepath.Join(m.opts.StateDir, "ipam") }

// lock serialises changes within this process and with other processes
// using the same state directory.
func (m *Manager) lock() (unlock func(), err error) {
	m.mu.Lock()
	f, err := os.OpenFile(filepath.Join(m.opts.StateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		m.mu.Unlock()
		return nil, fmt.Errorf("network: lock state: %w", err)
	}
	return func() { f.Close(); m.mu.Unlock() }, nil
}

// EnsureDefault creates the default bridge network unless it exists.
func (m *Manager) EnsureDefault(ctx context.Context) (*Network, error) {
	if n, err := m.Inspect(ctx, m.opts.DefaultNetwork); err == nil {
		return n, nil
	}
	return m.create(ctx, NetworkConfig{Name: m.opts.DefaultNetwork, Subnet: m.opts.DefaultSubnet}, m.opts.DefaultBridge)
}

// Create writes the conflist of a new network. A taken name is
// ErrAlreadyExists; a subnet overlapping another network's or a host
// address's is ErrConflict.
func (m *Manager) Create(ctx context.Context, c NetworkConfig) (*Network, error) {
	return m.create(ctx, c, "")
}

func (m *Manager) create(_ context.Context, c NetworkConfig, bridge string) (*Network, error) {
	if !validName.MatchString(c.Name) {
		return nil, fmt.Errorf("create network %q: %w: name must match %s", c.Name, ErrInvalidArgument, validName)
	}
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := m.list()
	if err != nil {
		return nil, err
	}
	for _, o := range all {
		if o.Name == c.Name {
			return nil, fmt.Errorf("create network %q: %w", c.Name, ErrAlreadyExists)
		}
	}
	if bridge == "" {
		bridge = bridgeName(c.Name)
	}
	n := &Network{NetworkConfig: c, Bridge: bridge, Owned: true, OwnSNAT: true}
	if err := m.plan(n, all); err != nil {
		return nil, fmt.Errorf("create network %q: %w", c.Name, err)
	}
	b, err := conflist(n, m.ipamDir(), forwardAccepts(n.IPv6))
	if err != nil {
		return nil, err
	}
	if err := ensureRules(networkRules(n)); err != nil {
		return nil, fmt.Errorf("create network %q: %w", c.Name, err)
	}
	n.ConfPath = filepath.Join(m.opts.ConfDir, n.Name+".conflist")
	if err := writeFileAtomic(n.ConfPath, b); err != nil {
		_ = removeRules(networkRules(n))
		return nil, fmt.Errorf("create network %q: %w", c.Name, err)
	}
	m.ruled[n.Name] = true
	return n, nil
}

// plan fills in n's subnets and gateways and checks them against the
// other networks and the host's addresses.
func (m *Manager) plan(n *Network, others []*Network) error {
	var taken []netip.Prefix
	for _, o := range others {
		taken = append(taken, o.subnets()...)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				taken = append(taken, p.Masked())
			}
		}
	}
	if n.Subnet == "" {
		n.Subnet = freeSubnet(taken)
		if n.Subnet == "" {
			return fmt.Errorf("%w: no free subnet in 10.89.0.0/16", ErrConflict)
		}
	}
	if n.IPv6 {
		if err := HostIPv6(); err != nil {
			return err
		}
	}
	if n.IPv6 && n.Subnet6 == "" {
		n.Subnet6 = ula(n.Name).String()
	}
	var err error
	if n.Gateway, err = checkSubnet(n.Subnet, n.Gateway, false, taken); err != nil {
		return err
	}
	if n.IPv6 {
		n.Gateway6, err = checkSubnet(n.Subnet6, "", true, taken)
	}
	return err
}

// checkSubnet validates subnet and gateway (defaulting to the subnet's
// first address) and refuses an overlap with taken.
func checkSubnet(subnet, gw string, v6 bool, taken []netip.Prefix) (string, error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil || p.Addr().Is6() != v6 || p.Addr().Is4In6() {
		return "", fmt.Errorf("%w: bad subnet %q", ErrInvalidArgument, subnet)
	}
	p = p.Masked()
	if p.Bits() > p.Addr().BitLen()-2 {
		return "", fmt.Errorf("%w: subnet %s too small", ErrInvalidArgument, p)
	}
	for _, t := range taken {
		if t.Overlaps(p) {
			return "", fmt.Errorf("%w: subnet %s overlaps %s in use", ErrConflict, p, t)
		}
	}
	if gw == "" {
		return p.Addr().Next().String(), nil
	}
	g, err := netip.ParseAddr(gw)
	if err != nil || !p.Contains(g) || g == p.Addr() {
		return "", fmt.Errorf("%w: gateway %q not a host address in %s", ErrInvalidArgument, gw, p)
	}
	return g.String(), nil
}

// freeSubnet returns the first 10.89.N.0/24 overlapping nothing taken.
func freeSubnet(taken []netip.Prefix) string {
next:
	for i := range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 89, byte(i), 0}), 24)
		for _, t := range taken {
			if t.Overlaps(p) {
				continue next
			}
		}
		return p.String()
	}
	return ""
}

// List returns every network in the conflist directory, by name.
func (m *Manager) List(_ context.Context) ([]*Network, error) {
	return m.list()
}

func (m *Manager) list() ([]*Network, error) {
	files, err := libcni.ConfFiles(m.opts.ConfDir, []string{".conflist"})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []*Network
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("list networks: %w", err)
		}
		n, err := parseConflist(b)
		if err != nil || n.Name == "" {
			continue // not ours to judge: libcni reports it on use
		}
		n.ConfPath = f
		n.Owned = n.Owned && filepath.Base(f) == n.Name+".conflist"
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Inspect returns the network called name.
func (m *Manager) Inspect(_ context.Context, name string) (*Network, error) {
	all, err := m.list()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("network %q: %w", name, ErrNotFound)
}

// Remove deletes a network Berth created, with its bridge and IPAM
// store. A network with attachments is ErrConflict.
func (m *Manager) Remove(ctx context.Context, name string) error {
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	n, err := m.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if !n.Owned {
		return fmt.Errorf("remove network %q: %w: not created by Berth (%s)", name, ErrConflict, n.ConfPath)
	}
	atts, err := m.Attachments(ctx, name)
	if err != nil {
		return err
	}
	for _, f := range m.inflight {
		if f.network == name {
			atts = append(atts, nil)
		}
	}
	if len(atts) > 0 {
		return fmt.Errorf("remove network %q: %w: in use by %d container(s)", name, ErrConflict, len(atts))
	}
	if err := os.Remove(n.ConfPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			return fmt.Errorf("remove network %q: delete bridge %s: %w", name, n.Bridge, err)
		}
	}
	delete(m.ruled, name)
	if err := removeRules(networkRules(n)); err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	if n.Isolate {
		if err := removeIsolation(n.Bridge); err != nil {
			return fmt.Errorf("remove network %q: %w", name, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(m.ipamDir(), name)); err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	return nil
}

// ipv6Sysctl is the host's switch for IPv6 on every interface.
var ipv6Sysctl = "/proc/sys/net/ipv6/conf/all/disable_ipv6"

// HostIPv6 reports, as ErrNotSupported, why the host cannot give
// containers IPv6 addresses: a kernel without IPv6 (or booted with
// ipv6.disable=1) or IPv6 disabled on all interfaces.
func HostIPv6() error {
	b, err := os.ReadFile(ipv6Sysctl)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: IPv6: the kernel has none (no %s)", ErrNotSupported, ipv6Sysctl)
	case err != nil:
		return fmt.Errorf("IPv6: %w", err)
	case strings.TrimSpace(string(b)) != "0":
		return fmt.Errorf("%w: IPv6: disabled on the host (%s is %s)", ErrNotSupported, ipv6Sysctl, strings.TrimSpace(string(b)))
	}
	return nil
}

// forwardAccepts reports whether the host's filter FORWARD chain accepts
// by default, so containers' routed traffic needs no rule of its own;
// with ipv6, ip6tables' chain must accept too.
func forwardAccepts(ipv6 bool) bool {
	tools := []string{"iptables"}
	if ipv6 {
		tools = append(tools, "ip6tables")
	}
	for _, tool := range tools {
		out, err := exec.Command(tool, "-w", "-S", "FORWARD").Output()
		if first, _, _ := strings.Cut(string(out), "\n"); err != nil || first != "-P FORWARD ACCEPT" {
			return false
		}
	}
	return true
}

// writeFileAtomic writes b to path through a temporary file and rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
