package dockerapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	dcontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) {
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	cfg, err := engine.ContainerConfig(c)
	if err != nil {
		writeError(w, err)
		return
	}
	out := inspectOf(c, cfg)
	out.ExecIDs = s.execIDs(c.ID)
	writeJSON(w, http.StatusOK, out)
}

// dockerTime is Docker's timestamp; the zero time is 0001-01-01T00:00:00Z.
func dockerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func inspectOf(c engine.Container, cfg container.Config) dcontainer.InspectResponse {
	st := c.Status
	out := dcontainer.InspectResponse{
		ID: c.ID, Created: dockerTime(c.CreatedAt), Name: "/" + c.Name, Image: c.ImageID,
		Driver: c.Snapshotter, Platform: "linux", RestartCount: st.RestartCount,
		State: &dcontainer.State{
			Status: dcontainer.ContainerState(st.State), Running: st.State == engine.StateRunning || st.State == engine.StatePaused,
			Paused: st.State == engine.StatePaused, Pid: st.Pid, ExitCode: st.ExitCode,
			StartedAt: dockerTime(st.StartedAt), FinishedAt: dockerTime(st.FinishedAt),
		},
		Config:          configOf(c, cfg),
		HostConfig:      hostConfigOf(cfg),
		NetworkSettings: networkSettingsOf(c, cfg),
		Mounts:          mountPoints(cfg),
	}
	if st.Reason != "" && st.ExitCode != 0 {
		out.State.Error = st.Reason
	}
	if len(c.Command) > 0 {
		out.Path, out.Args = c.Command[0], c.Command[1:]
	}
	return out
}

// mountPoints are cfg's mounts as inspect and ps show them.
func mountPoints(cfg container.Config) []dcontainer.MountPoint {
	out := []dcontainer.MountPoint{}
	for _, m := range cfg.Mounts {
		out = append(out, dcontainer.MountPoint{
			Type: mount.Type(m.Type), Name: volumeName(m), Source: m.Source, Destination: m.Target, RW: !m.ReadOnly,
		})
	}
	return out
}

func volumeName(m container.Mount) string {
	if m.Type == "volume" {
		return m.Source
	}
	return ""
}

func configOf(c engine.Container, cfg container.Config) *dcontainer.Config {
	out := &dcontainer.Config{
		Hostname: cfg.Hostname, User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin,
		Env: cfg.Env, Cmd: cfg.Cmd, Image: c.Image, WorkingDir: cfg.WorkingDir,
		Entrypoint: cfg.Entrypoint, Labels: cfg.Labels, StopSignal: cfg.StopSignal,
		AttachStdout: !cfg.OpenStdin, AttachStderr: !cfg.OpenStdin,
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if cfg.StopTimeout != nil {
		n := int(*cfg.StopTimeout / time.Second)
		out.StopTimeout = &n
	}
	return out
}

func hostConfigOf(cfg container.Config) *dcontainer.HostConfig {
	h := &dcontainer.HostConfig{
		NetworkMode: dcontainer.NetworkMode(cfg.NetworkMode), AutoRemove: cfg.AutoRemove,
		CapAdd: cfg.CapAdd, CapDrop: cfg.CapDrop, Privileged: cfg.Privileged,
		ReadonlyRootfs: cfg.ReadOnly, PublishAllPorts: cfg.PublishAll, Runtime: cfg.Runtime,
		ExtraHosts: cfg.ExtraHosts, DNSSearch: cfg.DNSSearch, DNSOptions: cfg.DNSOptions,
		RestartPolicy: dcontainer.RestartPolicy{Name: dcontainer.RestartPolicyMode(cfg.Restart.Name), MaximumRetryCount: cfg.Restart.MaxRetries},
		LogConfig:     dcontainer.LogConfig{Type: "json-file", Config: map[string]string{}},
		IpcMode:       dcontainer.IpcMode(cfg.IPCMode), PidMode: dcontainer.PidMode(cfg.PIDMode), UTSMode: dcontainer.UTSMode(cfg.UTSMode),
	}
	if h.RestartPolicy.Name == "" {
		h.RestartPolicy.Name = dcontainer.RestartPolicyDisabled
	}
	init := cfg.Init
	h.Init = &init
	h.Memory, h.NanoCPUs, h.CPUShares = cfg.Resources.Memory, cfg.Resources.NanoCPUs, int64(cfg.Resources.CPUShares)
	h.MemorySwap, h.CpusetCpus, h.CpusetMems, h.OomScoreAdj = cfg.Resources.MemorySwap, cfg.Resources.CpusetCpus, cfg.Resources.CpusetMems, cfg.OOMScoreAdj
	if cfg.Resources.PidsLimit > 0 {
		n := cfg.Resources.PidsLimit
		h.PidsLimit = &n
	}
	for _, m := range cfg.Mounts {
		switch m.Type {
		case "bind":
			b := m.Source + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			h.Binds = append(h.Binds, b)
		case "tmpfs":
			if h.Tmpfs == nil {
				h.Tmpfs = map[string]string{}
			}
			h.Tmpfs[m.Target] = strings.Join(m.Options, ",")
		}
	}
	h.PortBindings = portMap(cfg.Publish)
	return h
}

// portMap reads -p specs back into Docker's map; what does not parse is
// left out (the engine validated them at create).
func portMap(specs []string) network.PortMap {
	pm := network.PortMap{}
	for _, spec := range specs {
		i := strings.LastIndex(spec, ":")
		ctr, host := spec[i+1:], ""
		if i >= 0 {
			host = spec[:i]
		}
		p, err := network.ParsePort(ctr)
		if err != nil {
			continue
		}
		b := network.PortBinding{}
		if j := strings.LastIndex(host, ":"); j >= 0 {
			b.HostIP, _ = netip.ParseAddr(strings.Trim(host[:j], "[]"))
			b.HostPort = host[j+1:]
		} else {
			b.HostPort = host
		}
		pm[p] = append(pm[p], b)
	}
	return pm
}

// networkSettingsOf is a container's networks: with their addresses and
// published ports while it runs, else (created or stopped) the networks
// its next start joins, without addresses, as Docker lists them. Aliases
// are the configured ones; DNSNames all the names peers resolve.
func networkSettingsOf(c engine.Container, cfg container.Config) *dcontainer.NetworkSettings {
	out := &dcontainer.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	ns := c.Status.Network
	if ns == nil {
		out.Networks = plannedNetworks(cfg)
		return out
	}
	out.SandboxKey = ns.NetNS
	out.Networks[ns.Network] = endpointOf(*ns, cfg.NetworkAliases)
	for _, o := range ns.Connected {
		var aliases []string
		if i := slices.IndexFunc(cfg.Connected, func(ep container.Endpoint) bool { return ep.Network == o.Network }); i >= 0 {
			aliases = cfg.Connected[i].Aliases
		}
		out.Networks[o.Network] = endpointOf(o, aliases)
	}
	for _, p := range ns.Ports {
		port, ok := network.PortFrom(p.ContainerPort, network.IPProtocol(p.Protocol))
		if !ok {
			continue
		}
		b := network.PortBinding{HostPort: fmt.Sprint(p.HostPort)}
		b.HostIP, _ = netip.ParseAddr(p.HostIP)
		if !b.HostIP.IsValid() {
			b.HostIP = netip.IPv4Unspecified()
		}
		out.Ports[port] = append(out.Ports[port], b)
	}
	return out
}

// plannedNetworks are the networks a container that does not run joins
// at its start, with their configured aliases.
func plannedNetworks(cfg container.Config) map[string]*network.EndpointSettings {
	out := map[string]*network.EndpointSettings{}
	mode := cfg.NetworkMode
	if mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:") {
		return out
	}
	if mode == "" {
		mode = engine.DefaultNetwork
	}
	out[mode] = &network.EndpointSettings{NetworkID: engine.NetworkID(mode), Aliases: cfg.NetworkAliases}
	for _, ep := range cfg.Connected {
		out[ep.Network] = &network.EndpointSettings{NetworkID: engine.NetworkID(ep.Network), Aliases: ep.Aliases}
	}
	return out
}

func endpointOf(ns container.NetworkSettings, aliases []string) *network.EndpointSettings {
	ep := &network.EndpointSettings{NetworkID: engine.NetworkID(ns.Network), Aliases: aliases, DNSNames: ns.Aliases}
	for _, ip := range ns.IPs {
		pfx, err := netip.ParsePrefix(ip)
		if err != nil {
			continue
		}
		if pfx.Addr().Is4() && !ep.IPAddress.IsValid() {
			ep.IPAddress, ep.IPPrefixLen = pfx.Addr(), pfx.Bits()
		} else if pfx.Addr().Is6() && !ep.GlobalIPv6Address.IsValid() {
			ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen = pfx.Addr(), pfx.Bits()
		}
	}
	for _, g := range ns.Gateways {
		if a, err := netip.ParseAddr(g); err == nil {
			if a.Is4() {
				ep.Gateway = a
			} else {
				ep.IPv6Gateway = a
			}
		}
	}
	if hw, err := net.ParseMAC(ns.MAC); err == nil {
		ep.MacAddress = network.HardwareAddr(hw)
	}
	return ep
}
