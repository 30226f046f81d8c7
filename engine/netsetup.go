package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/etcfiles"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/network/ports"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultNetwork is the network NetworkMode "" and "bridge" name.
const defaultNetwork = "bridge"

// Network modes, as netMode classifies a container's NetworkMode.
const (
	modeNone      = "none"
	modeHost      = "host"
	modeContainer = "container" // another container's namespace
	modeCNI       = "cni"       // a namespace of its own on a network
)

// netMode returns how cfg is networked and the network's or the other
// container's name.
func netMode(cfg container.Config) (kind, name string) {
	switch m := cfg.NetworkMode; {
	case m == "" || m == defaultNetwork:
		return modeCNI, defaultNetwork
	case m == modeNone || m == modeHost:
		return m, ""
	case strings.HasPrefix(m, "container:"):
		return modeContainer, strings.TrimPrefix(m, "container:")
	default:
		return modeCNI, m
	}
}

// etcDir holds a container's generated hosts, hostname and resolv.conf.
func (e *Engine) etcDir(ns, id string) string { return filepath.Join(e.bundleDir(ns, id), "etc") }

// checkNetwork validates cfg's network options at create time: the
// network exists (the default one is made on first start), a
// container:NAME becomes container:ID, -P adds the image's exposed
// ports to cfg.Publish.
func (e *Engine) checkNetwork(ctx context.Context, ns string, img ocispec.ImageConfig, cfg *container.Config) error {
	if len(cfg.Connected) > 0 {
		return fmt.Errorf("%w: one network at create (several --network are not supported); add others with berth network connect", ErrInvalidConfig)
	}
	kind, name := netMode(*cfg)
	cniOnly := len(cfg.Publish) > 0 || cfg.PublishAll || cfg.MacAddress != "" || cfg.IPAddress != "" || len(cfg.NetworkAliases) > 0
	if kind != modeCNI && cniOnly {
		return fmt.Errorf("%w: published ports, --ip, --mac-address and aliases need a network (not --network %s)", ErrInvalidConfig, cfg.NetworkMode)
	}
	switch kind {
	case modeContainer:
		other, err := e.Container(ctx, ns, name)
		if err != nil {
			return fmt.Errorf("%w: --network container:%s: %w", ErrInvalidConfig, name, err)
		}
		if k, _ := netMode(configOf(other)); k != modeCNI {
			return fmt.Errorf("%w: --network container:%s: that container has no network namespace of its own", ErrInvalidConfig, name)
		}
		cfg.NetworkMode = "container:" + other.ID
		return nil
	case modeCNI:
	default:
		return nil
	}
	m, err := e.cni()
	if err != nil {
		return err
	}
	if name != defaultNetwork {
		n, err := m.Inspect(ctx, name)
		if err != nil {
			return fmt.Errorf("%w: --network %s: %w", ErrInvalidConfig, name, err)
		}
		if cfg.IPAddress != "" {
			if err := n.CheckIP(cfg.IPAddress); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
			}
		}
	} else if cfg.IPAddress != "" {
		return fmt.Errorf("%w: --ip is only for user-defined networks", ErrInvalidConfig)
	}
	pm, err := ports.ParseAll(cfg.Publish)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.PublishAll {
		cfg.Publish = append(cfg.Publish, unpublished(img.ExposedPorts, pm)...)
	}
	return hostPortsFree(ctx, m, pm)
}

// hostPortsFree refuses, at create time already, fixed host ports that
// are in use or published by another container; the start checks again.
func hostPortsFree(ctx context.Context, m *network.Manager, pm []ports.Mapping) error {
	pm = slices.DeleteFunc(slices.Clone(pm), func(p ports.Mapping) bool { return p.HostPort == 0 || p.HostPortEnd != 0 })
	if len(pm) == 0 {
		return nil
	}
	atts, err := m.Attachments(ctx, "")
	if err != nil {
		return err
	}
	var taken []ports.Mapping
	for _, a := range atts {
		taken = append(taken, a.Ports...)
	}
	_, err = ports.Resolve(pm, taken)
	return err
}

// unpublished returns the exposed ports, sorted, that no -p publishes.
func unpublished(exposed map[string]struct{}, pm []ports.Mapping) []string {
	var out []string
	for p := range exposed {
		ms, err := ports.Parse(p)
		if err != nil || len(ms) != 1 {
			continue // not a port an image should expose: ignored, as Docker
		}
		if !slices.ContainsFunc(pm, func(m ports.Mapping) bool {
			return m.ContainerPort == ms[0].ContainerPort && m.Protocol == ms[0].Protocol
		}) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// configOf is c's configuration, zero if it cannot be decoded.
func configOf(c Container) container.Config {
	cfg, _ := ContainerConfig(c)
	return cfg
}

// cni is the network manager for a container that needs a network: a
// host without CNI plugins is a failed precondition of that container,
// not an unavailable berthd.
func (e *Engine) cni() (*network.Manager, error) {
	m, err := e.networks()
	if err != nil {
		return nil, fmt.Errorf("%w: %v (--network none or host need none)", errdefs.ErrFailedPrecondition, err)
	}
	return m, nil
}

// networkSpec points spec at the container's network namespace and
// bind-mounts its /etc files, for the modes that have them.
func (e *Engine) networkSpec(ns, id string, cfg container.Config, spec *specs.Spec) error {
	kind, name := netMode(cfg)
	owner := id
	switch kind {
	case modeContainer:
		owner = name
	case modeCNI:
	default:
		return nil
	}
	m, err := e.cni()
	if err != nil {
		return err
	}
	path, err := netns.Path(m.NetnsDir(), owner)
	if err != nil {
		return err
	}
	for i, n := range spec.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			spec.Linux.Namespaces[i].Path = path
		}
	}
	for _, f := range []string{etcfiles.HostsFile, etcfiles.HostnameFile, etcfiles.ResolvConfFile} {
		spec.Mounts = append(spec.Mounts, specs.Mount{Type: "bind", Source: filepath.Join(e.etcDir(ns, owner), f),
			Destination: "/etc/" + f, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
	}
	return nil
}

// pendingNet is a container's network being set up, perhaps beside its
// runtime's create.
type pendingNet struct {
	// background is true when the attachment goes on until wait:
	// the task must not start before wait returned without an error.
	background bool
	done       chan struct{}
	settings   *container.NetworkSettings
	err        error
}

// wait returns what the record shows of the network (nil for the modes
// without one of their own) once it is set up. An error means nothing of
// it is left. Every pendingNet must be waited for.
func (p *pendingNet) wait() (*container.NetworkSettings, error) {
	<-p.done
	return p.settings, p.err
}

// startNetwork gives c its network before its task starts: a namespace
// of its own attached to its network, with its /etc files written. The
// runtime's create needs only the namespace and the files, which are made
// before startNetwork returns; the attachment, mostly CNI plugins at
// work, goes on in the background beside the create, unless c has net.*
// sysctls (the runtime and prepareUserNS set them on the attached
// interfaces). A failure leaves nothing.
func (e *Engine) startNetwork(ctx context.Context, ns string, c Container, cfg container.Config) (*pendingNet, error) {
	p := &pendingNet{done: make(chan struct{})}
	kind, name := netMode(cfg)
	switch kind {
	case modeContainer:
		if e.task(ns, name) == nil {
			return nil, fmt.Errorf("--network container:%.12s: %w", name, ErrNotRunning)
		}
		fallthrough
	case modeNone, modeHost:
		close(p.done)
		return p, nil
	}
	m, err := e.cni()
	if err != nil {
		return nil, err
	}
	if name == defaultNetwork {
		// Concurrent first starts race to make it: one wins.
		if _, err := m.EnsureDefault(ctx); err != nil && !errors.Is(err, network.ErrAlreadyExists) {
			return nil, fmt.Errorf("default network: %w", err)
		}
	}
	e.teardownNetwork(ctx, ns, c) // a leftover of a crash
	pm, err := ports.ParseAll(cfg.Publish)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	path, err := netns.Create(m.NetnsDir(), c.ID)
	if err != nil {
		return nil, err
	}
	if err := e.writeEtc(ns, c, cfg); err != nil {
		_ = netns.Remove(path)
		return nil, err
	}
	attach := func() {
		defer close(p.done)
		p.settings, p.err = e.attachNetwork(ctx, m, path, ns, c, cfg, name, pm)
	}
	if p.background = len(netSysctls(cfg.Sysctls)) == 0; p.background {
		go attach()
	} else {
		attach()
	}
	return p, nil
}

// netSysctls are the net.* keys of sysctls, with their values.
func netSysctls(sysctls map[string]string) map[string]string {
	net := map[string]string{}
	for k, v := range sysctls {
		if strings.HasPrefix(k, "net.") {
			net[k] = v
		}
	}
	return net
}

// attachNetwork attaches the namespace at path to c's networks and fills
// in c's hosts file. A failure detaches what was attached and removes
// the namespace.
func (e *Engine) attachNetwork(ctx context.Context, m *network.Manager, path, ns string, c Container, cfg container.Config, name string, pm []ports.Mapping) (*container.NetworkSettings, error) {
	atts, err := e.attachAll(ctx, m, path, c, cfg, name, pm)
	if err == nil {
		err = e.fillHosts(ctx, m, ns, c, cfg, atts)
		if err != nil {
			detachAll(ctx, m, c.ID, atts)
		}
	}
	if err != nil {
		_ = netns.Remove(path)
		return nil, err
	}
	s := settings(atts[0])
	for _, a := range atts[1:] {
		s.Connected = append(s.Connected, *settings(a))
	}
	return s, nil
}

// attachAll attaches the namespace at path to c's network as eth0 and
// to the networks it was connected to as eth1, eth2, ... in order. A
// failure detaches what was attached.
func (e *Engine) attachAll(ctx context.Context, m *network.Manager, path string, c Container, cfg container.Config, name string, pm []ports.Mapping) ([]*network.Attachment, error) {
	a, err := m.Attach(ctx, path, c.ID, name, network.AttachOptions{
		Ports: pm, IP: cfg.IPAddress, MAC: cfg.MacAddress, Aliases: append([]string{c.Name}, cfg.NetworkAliases...),
	})
	if err != nil {
		return nil, err
	}
	atts := []*network.Attachment{a}
	for i, ep := range cfg.Connected {
		a, err := m.Attach(ctx, path, c.ID, ep.Network, network.AttachOptions{
			IfName: fmt.Sprintf("eth%d", i+1), IP: ep.IP, Aliases: append([]string{c.Name}, ep.Aliases...),
		})
		if err != nil {
			detachAll(ctx, m, c.ID, atts)
			return nil, fmt.Errorf("connected network %s: %w", ep.Network, err)
		}
		atts = append(atts, a)
	}
	return atts, nil
}

// detachAll undoes attachAll after a failure.
func detachAll(ctx context.Context, m *network.Manager, id string, atts []*network.Attachment) {
	for _, a := range atts {
		_ = m.Detach(context.WithoutCancel(ctx), id, a.Network)
	}
}

// writeEtc writes c's hostname and resolv.conf, and a hosts file
// without c's own addresses, which fillHosts adds once they are known:
// the runtime binds the three files as it creates the container.
func (e *Engine) writeEtc(ns string, c Container, cfg container.Config) error {
	ec := etcfiles.Config{Hostname: hostname(c.ID, cfg), ExtraHosts: cfg.ExtraHosts,
		DNS: cfg.DNS, DNSSearch: cfg.DNSSearch, DNSOptions: cfg.DNSOptions}
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read the host's resolv.conf: %w", err)
	}
	ec.HostResolvConf = b
	if err := etcfiles.Write(e.etcDir(ns, c.ID), ec); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return chownToMappedRoot(e.etcDir(ns, c.ID), cfg, etcfiles.HostsFile, etcfiles.HostnameFile, etcfiles.ResolvConfFile)
}

// fillHosts rewrites c's hosts file with its addresses and, on its user
// networks, its peers, and updates the peers' hosts files. Peers are read
// and written under hostsMu; a container only on the default network has
// none, and no one else writes its file.
func (e *Engine) fillHosts(ctx context.Context, m *network.Manager, ns string, c Container, cfg container.Config, atts []*network.Attachment) error {
	peers := slices.ContainsFunc(atts, func(a *network.Attachment) bool { return a.Network != defaultNetwork })
	if peers {
		e.hostsMu.Lock()
		defer e.hostsMu.Unlock()
	}
	ec, err := hostsConfig(ctx, m, c.ID, cfg, atts)
	if err != nil {
		return err
	}
	if err := writeHosts(e.etcDir(ns, c.ID), ec); err != nil {
		return err
	}
	for _, a := range atts {
		if a.Network != defaultNetwork {
			e.refreshPeers(ctx, m, a.Network, c.ID)
		}
	}
	return nil
}

// hostsConfig is what c's hosts file is made from: its addresses on its
// first interface and, as Docker, the peers on its user networks only.
func hostsConfig(ctx context.Context, m *network.Manager, id string, cfg container.Config, atts []*network.Attachment) (etcfiles.Config, error) {
	ec := etcfiles.Config{Hostname: hostname(id, cfg), ExtraHosts: cfg.ExtraHosts}
	self := slices.IndexFunc(atts, func(a *network.Attachment) bool { return a.IfName == "eth0" })
	if self < 0 && len(atts) > 0 {
		self = 0
	}
	for i, a := range atts {
		if i == self {
			for _, p := range a.IPs {
				ec.Self.IPs = append(ec.Self.IPs, p.Addr())
			}
		}
		if a.Network == defaultNetwork {
			continue
		}
		peers, err := m.Peers(ctx, a.Network, id)
		if err != nil {
			return ec, err
		}
		ec.Peers = append(ec.Peers, peers...)
	}
	return ec, nil
}

// hostname is the container's host name: its own or its ID's first 12.
func hostname(id string, cfg container.Config) string {
	if cfg.Hostname != "" {
		return cfg.Hostname
	}
	return id[:12]
}

// settings is what the record keeps of an attachment.
func settings(a *network.Attachment) *container.NetworkSettings {
	s := &container.NetworkSettings{Network: a.Network, IfName: a.IfName, Aliases: a.Aliases, NetNS: a.NetNS, MAC: a.MAC}
	for _, p := range a.IPs {
		s.IPs = append(s.IPs, p.String())
	}
	for _, g := range a.Gateways {
		s.Gateways = append(s.Gateways, g.String())
	}
	for _, p := range a.Ports {
		s.Ports = append(s.Ports, container.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	return s
}

// teardownNetwork detaches c from every network it is attached to (as
// libcni's cache knows them) and removes its namespace, whichever
// exist: after its task exited, on removal, and after a restart of the
// engine in between.
func (e *Engine) teardownNetwork(ctx context.Context, ns string, c Container) {
	cfg, err := ContainerConfig(c)
	if err != nil {
		return
	}
	if kind, _ := netMode(cfg); kind != modeCNI {
		return
	}
	m, err := e.networks()
	if err != nil {
		return // nothing can have been attached
	}
	ctx = context.WithoutCancel(ctx)
	atts, err := m.ContainerAttachments(ctx, c.ID)
	if err != nil {
		e.log.Warn("list a container's network attachments", "id", c.ID, "err", err)
	}
	for _, a := range atts {
		_ = e.detach(ctx, m, c.ID, a.Network) // logged there
	}
	if path, err := netns.Path(m.NetnsDir(), c.ID); err == nil {
		if err := netns.Remove(path); err != nil {
			e.log.Warn("remove container network namespace", "id", c.ID, "err", err)
		}
	}
}

// detach detaches the container id from the network name and updates
// the hosts files of its peers there. Not being attached is no error.
func (e *Engine) detach(ctx context.Context, m *network.Manager, id, name string) error {
	if err := m.Detach(ctx, id, name); errors.Is(err, network.ErrNotFound) {
		return nil
	} else if err != nil {
		e.log.Warn("detach container from a network", "id", id, "network", name, "err", err)
		return err
	}
	if name != defaultNetwork {
		e.hostsMu.Lock()
		e.refreshPeers(ctx, m, name, id)
		e.hostsMu.Unlock()
	}
	return nil
}

// refreshPeers rewrites the hosts file of every container attached to
// the user network name but except, so that each resolves the others by
// name and alias. It runs under hostsMu.
func (e *Engine) refreshPeers(ctx context.Context, m *network.Manager, name, except string) {
	atts, err := m.Attachments(ctx, name)
	if err != nil {
		e.log.Warn("update peers' hosts files", "network", name, "err", err)
		return
	}
	for _, a := range atts {
		if a.ContainerID == except {
			continue
		}
		if err := e.rewriteHosts(ctx, m, a.ContainerID); err != nil {
			e.log.Warn("update a peer's hosts file", "id", a.ContainerID, "err", err)
		}
	}
}

// rewriteHosts rewrites the hosts file of the container id from its
// attachments on every network. It runs under hostsMu. The file is
// rewritten in place: a running container's bind mount holds its inode.
func (e *Engine) rewriteHosts(ctx context.Context, m *network.Manager, id string) error {
	ns, c, err := e.containerByID(ctx, id)
	if err != nil {
		return err
	}
	cfg, err := ContainerConfig(c)
	if err != nil {
		return err
	}
	atts, err := m.ContainerAttachments(ctx, id)
	if err != nil {
		return err
	}
	ec, err := hostsConfig(ctx, m, id, cfg, atts)
	if err != nil {
		return err
	}
	return writeHosts(e.etcDir(ns, c.ID), ec)
}

// writeHosts rewrites the hosts file in dir from ec in place: a created
// or running container's bind mount holds its inode.
func writeHosts(dir string, ec etcfiles.Config) error {
	b, err := etcfiles.Hosts(ec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, etcfiles.HostsFile), os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// containerByID finds a container's record in any namespace.
func (e *Engine) containerByID(ctx context.Context, id string) (string, Container, error) {
	nss, err := e.meta.Namespaces().List(ctx)
	if err != nil {
		return "", Container{}, err
	}
	for _, ns := range nss {
		if c, err := e.meta.Containers().Get(ctx, ns, id); err == nil {
			return ns, c, nil
		}
	}
	return "", Container{}, fmt.Errorf("%w: %s", ErrContainerNotFound, id)
}
