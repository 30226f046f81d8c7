package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/berth-dev/berth/network/etcfiles"
	"github.com/berth-dev/berth/network/ports"
)

// AttachOptions are a container's wishes for one attachment.
type AttachOptions struct {
	IfName  string          // default "eth0"
	Ports   []ports.Mapping // published ports, host ports 0 or ranges resolved here
	IP      string          // fixed IPv4 or IPv6 address in the network's subnet
	MAC     string          // fixed MAC address
	Aliases []string        // extra names peers resolve to this container
}

// Attachment is a container's interface on one network.
type Attachment struct {
	ContainerID string
	Network     string
	NetNS       string
	IfName      string
	MAC         string
	IPs         []netip.Prefix
	Gateways    []netip.Addr
	Ports       []ports.Mapping
	Aliases     []string
}

// Capability args: portMappings, ips and mac go to the plugins that
// declare them; the io.berth keys no plugin declares, so libcni only
// caches them for Berth to read back.
const (
	capPorts   = "portMappings"
	capAliases = "io.berth.aliases"
	capBerth   = "io.berth.ports"
)

// Attach runs the network's ADD for the namespace at netnsPath and
// returns the result. If a plugin fails, DEL runs so that nothing of the
// half-made attachment stays.
func (m *Manager) Attach(ctx context.Context, netnsPath, containerID, network string, o AttachOptions) (*Attachment, error) {
	if o.IfName == "" {
		o.IfName = "eth0"
	}
	if err := validIDs(containerID, o.IfName); err != nil || netnsPath == "" {
		return nil, fmt.Errorf("attach %q: %w: bad container ID, interface name or empty netns path", containerID, ErrInvalidArgument)
	}
	n, list, rt, release, err := m.reserve(netnsPath, containerID, network, o)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := m.cni.AddNetworkList(ctx, list, rt)
	if err == nil && n.Owned && n.OwnSNAT && len(o.Ports) > 0 {
		err = setRouteLocalnet(n.Bridge)
	}
	if err != nil {
		// A fresh context: the caller's may be what ended the ADD.
		if derr := m.undo(context.WithoutCancel(ctx), list, rt); derr != nil {
			return nil, fmt.Errorf("attach %s to %s: %w (clean up: %v)", containerID, network, err, derr)
		}
		return nil, fmt.Errorf("attach %s to %s: %w", containerID, network, err)
	}
	return attachment(res, rt, network)
}

// validIDs checks what becomes part of libcni's cache file names: a
// container ID as the CNI spec allows it and a Linux interface name.
func validIDs(containerID, ifName string) error {
	if !validContainerID.MatchString(containerID) {
		return fmt.Errorf("%w: container ID %q", ErrInvalidArgument, containerID)
	}
	if ifName == "" || len(ifName) > 15 || ifName == "." || ifName == ".." || strings.ContainsAny(ifName, "/: \t\n\x00") {
		return fmt.Errorf("%w: interface name %q", ErrInvalidArgument, ifName)
	}
	return nil
}

var validContainerID = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,252}$`)

// reserve checks the attachment is new, resolves its host ports against
// the listeners, the cached attachments and those being set up now, and
// marks it in flight until release. For published ports it makes sure,
// once per Manager, that the network's own rules exist (the host may have
// lost them since Create). Only this runs under the Manager's lock: ADDs
// of different containers run in parallel.
func (m *Manager) reserve(netnsPath, containerID, network string, o AttachOptions) (*Network, *libcni.NetworkConfigList, *libcni.RuntimeConf, func(), error) {
	unlock, err := m.lock()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer unlock()
	n, list, err := m.confList(network)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	list, rt, err := m.planAttach(n, list, netnsPath, containerID, o)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	key := network + "\x00" + containerID
	m.inflight[key] = inflight{network: network, ports: cachedPorts(rt.CapabilityArgs)}
	return n, list, rt, func() {
		m.mu.Lock()
		delete(m.inflight, key)
		m.mu.Unlock()
	}, nil
}

// planAttach is reserve's work under the lock: the checks, the runtime
// arguments, the plugin list and the network's rules.
func (m *Manager) planAttach(n *Network, list *libcni.NetworkConfigList, netnsPath, containerID string, o AttachOptions) (*libcni.NetworkConfigList, *libcni.RuntimeConf, error) {
	network := n.Name
	// Other containers' attachments matter only for the host ports they
	// hold: without ports to resolve, only this container's are read.
	only := containerID
	if len(o.Ports) > 0 {
		only = ""
	}
	all, err := m.cni.GetCachedAttachments(only)
	if err != nil {
		return nil, nil, fmt.Errorf("attach %s to %s: %w", containerID, network, err)
	}
	key := network + "\x00" + containerID
	var taken []ports.Mapping
	for _, a := range all {
		if a.ContainerID == containerID && a.Network == network {
			return nil, nil, fmt.Errorf("attach %s to %s: %w", containerID, network, ErrAlreadyExists)
		}
		taken = append(taken, cachedPorts(a.CapabilityArgs)...)
	}
	for k, f := range m.inflight {
		if k == key {
			return nil, nil, fmt.Errorf("attach %s to %s: %w (being attached)", containerID, network, ErrAlreadyExists)
		}
		taken = append(taken, f.ports...)
	}
	rt, err := runtimeConf(netnsPath, containerID, o, taken)
	if err != nil {
		return nil, nil, fmt.Errorf("attach %s to %s: %w", containerID, network, err)
	}
	if len(o.Ports) == 0 {
		list, err = withoutIdlePortmap(list)
		return list, rt, err
	}
	if n.Owned && !m.ruled[network] {
		if err := ensureRules(networkRules(n)); err != nil {
			return nil, nil, fmt.Errorf("attach %s to %s: %w", containerID, network, err)
		}
		m.ruled[network] = true
	}
	return list, rt, nil
}

// inflight is an attachment whose ADD is running.
type inflight struct {
	network string
	ports   []ports.Mapping
}

// undo runs every plugin's DEL after a failed ADD, last plugin first,
// going on past plugins that fail (one that could not be run for ADD
// cannot be run for DEL either), so that what the earlier plugins made
// is removed.
func (m *Manager) undo(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	var errs []string
	for i := len(list.Plugins) - 1; i >= 0; i-- {
		one := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[i : i+1]}
		if err := m.cni.DelNetworkList(ctx, one, rt); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// runtimeConf builds the CNI runtime arguments for an ADD.
func runtimeConf(netnsPath, containerID string, o AttachOptions, taken []ports.Mapping) (*libcni.RuntimeConf, error) {
	pm, err := ports.Resolve(o.Ports, taken)
	if err != nil {
		return nil, err
	}
	caps := map[string]any{capBerth: pm, capAliases: o.Aliases}
	if len(pm) > 0 {
		caps[capPorts] = ports.RuntimeConfig(pm)
	}
	if o.IP != "" {
		a, err := netip.ParseAddr(o.IP)
		if err != nil {
			return nil, fmt.Errorf("%w: bad IP %q", ErrInvalidArgument, o.IP)
		}
		caps["ips"] = []string{a.String()}
	}
	if o.MAC != "" {
		hw, err := net.ParseMAC(o.MAC)
		if err != nil || len(hw) != 6 {
			return nil, fmt.Errorf("%w: bad MAC %q", ErrInvalidArgument, o.MAC)
		}
		caps["mac"] = hw.String()
	}
	return &libcni.RuntimeConf{
		ContainerID:    containerID,
		NetNS:          netnsPath,
		IfName:         o.IfName,
		Args:           [][2]string{{"IgnoreUnknown", "1"}},
		CapabilityArgs: caps,
	}, nil
}

// attachment turns a CNI result into an Attachment.
func attachment(res types.Result, rt *libcni.RuntimeConf, network string) (*Attachment, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("CNI result: %w", err)
	}
	a := &Attachment{ContainerID: rt.ContainerID, Network: network, NetNS: rt.NetNS, IfName: rt.IfName,
		Ports: cachedPorts(rt.CapabilityArgs), Aliases: cachedStrings(rt.CapabilityArgs[capAliases])}
	for _, i := range r.Interfaces {
		if i.Name == rt.IfName && i.Sandbox != "" {
			a.MAC = i.Mac
		}
	}
	for _, ipc := range r.IPs {
		ip, ok1 := netip.AddrFromSlice(ipc.Address.IP)
		ones, _ := ipc.Address.Mask.Size()
		if !ok1 {
			continue
		}
		a.IPs = append(a.IPs, netip.PrefixFrom(ip.Unmap(), ones))
		if g, ok := netip.AddrFromSlice(ipc.Gateway); ok {
			a.Gateways = append(a.Gateways, g.Unmap())
		}
	}
	return a, nil
}

func cachedStrings(v any) []string {
	var out []string
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}

// Detach runs the network's DEL for the container, from the config and
// arguments libcni cached at ADD, so it works after a restart and even
// when the conflist was changed or removed since. An attachment that does
// not exist is ErrNotFound.
func (m *Manager) Detach(ctx context.Context, containerID, network string) error {
	if err := validIDs(containerID, "eth0"); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	atts, err := m.cni.GetCachedAttachments(containerID)
	if err != nil {
		return fmt.Errorf("detach %s from %s: %w", containerID, network, err)
	}
	for _, a := range atts {
		if a.Network != network {
			continue
		}
		list, err := libcni.ConfListFromBytes(a.Config)
		if err != nil {
			return fmt.Errorf("detach %s from %s: cached config: %w", containerID, network, err)
		}
		rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: a.NetNS, IfName: a.IfName, Args: a.CniArgs, CapabilityArgs: a.CapabilityArgs}
		if err := m.del(ctx, list, rt); err != nil {
			return fmt.Errorf("detach %s from %s: %w", containerID, network, err)
		}
		return nil
	}
	return fmt.Errorf("detach %s from %s: %w", containerID, network, ErrNotFound)
}

// Attachments lists the containers attached to network (all networks
// when network is empty), from libcni's cache.
func (m *Manager) Attachments(_ context.Context, network string) ([]*Attachment, error) {
	return m.attachments("", network)
}

// ContainerAttachments lists containerID's attachments, on every
// network, from libcni's cache.
func (m *Manager) ContainerAttachments(_ context.Context, containerID string) ([]*Attachment, error) {
	if err := validIDs(containerID, "eth0"); err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	return m.attachments(containerID, "")
}

func (m *Manager) attachments(containerID, network string) ([]*Attachment, error) {
	atts, err := m.cni.GetCachedAttachments(containerID)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	var out []*Attachment
	for _, a := range atts {
		if network != "" && a.Network != network {
			continue
		}
		rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, NetNS: a.NetNS, IfName: a.IfName, CapabilityArgs: a.CapabilityArgs}
		list, err := libcni.ConfListFromBytes(a.Config)
		if err != nil {
			continue
		}
		res, err := m.cni.GetNetworkListCachedResult(list, rt)
		if err != nil || res == nil {
			continue
		}
		at, err := attachment(res, rt, a.Network)
		if err != nil {
			continue
		}
		out = append(out, at)
	}
	return out, nil
}

// confList loads the named network and its conflist.
func (m *Manager) confList(network string) (*Network, *libcni.NetworkConfigList, error) {
	n, err := m.Inspect(context.Background(), network)
	if err != nil {
		return nil, nil, err
	}
	list, err := libcni.ConfListFromFile(n.ConfPath)
	if err != nil {
		return nil, nil, fmt.Errorf("network %q: %w", network, err)
	}
	return n, list, nil
}

// cachedPorts reads back the mappings Attach cached for an attachment.
func cachedPorts(caps map[string]any) []ports.Mapping {
	var out []ports.Mapping
	if v, ok := caps[capBerth]; ok {
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// Peers returns the /etc/hosts entries of the containers attached to
// network other than containerID: each one's aliases (the engine passes
// the container's name as its first alias) and addresses.
func (m *Manager) Peers(ctx context.Context, network, containerID string) ([]etcfiles.Host, error) {
	atts, err := m.Attachments(ctx, network)
	if err != nil {
		return nil, err
	}
	var out []etcfiles.Host
	for _, a := range atts {
		if a.ContainerID == containerID || len(a.Aliases) == 0 {
			continue
		}
		h := etcfiles.Host{Names: a.Aliases}
		for _, p := range a.IPs {
			h.IPs = append(h.IPs, p.Addr())
		}
		out = append(out, h)
	}
	return out, nil
}
