package dockerapi

import (
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/cli/runopts"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// invalid is an invalid-argument error with Docker's plain message.
func invalid(format string, a ...any) error {
	return errdefs.New(errdefs.ErrInvalidArgument, fmt.Sprintf(format, a...))
}

// toConfig turns a create request into the engine's container.Config;
// what the engine cannot do is refused, never dropped silently.
func toConfig(name string, req dcontainer.CreateRequest) (container.Config, error) {
	if req.Config == nil || req.Image == "" {
		return container.Config{}, invalid("config cannot be empty in order to create a container")
	}
	in := req.Config
	c := container.Config{
		Name: name, Image: in.Image, Entrypoint: in.Entrypoint, Cmd: in.Cmd, Env: in.Env,
		WorkingDir: in.WorkingDir, User: in.User, Hostname: in.Hostname, Labels: in.Labels,
		Tty: in.Tty, OpenStdin: in.OpenStdin,
	}
	if len(in.Entrypoint) == 1 && in.Entrypoint[0] == "" {
		c.Entrypoint = []string{}
	}
	if in.StopSignal != "" {
		sig, err := runopts.ParseSignal(in.StopSignal)
		if err != nil {
			return c, invalid("invalid stop signal %q", in.StopSignal)
		}
		c.StopSignal = sig
	}
	if in.StopTimeout != nil {
		d := time.Duration(*in.StopTimeout) * time.Second
		c.StopTimeout = &d
	}
	if h := req.HostConfig; h != nil {
		if err := hostConfig(&c, h); err != nil {
			return c, err
		}
	}
	anonymousVolumes(&c, in.Volumes)
	if nc := req.NetworkingConfig; nc != nil {
		if err := endpointsConfig(&c, nc.EndpointsConfig); err != nil {
			return c, err
		}
	}
	return c, nil
}

// anonymousVolumes adds an anonymous volume for each of Config.Volumes'
// paths that no bind, mount or tmpfs covers (Compose declares its
// services' volume paths there as well as binding them).
func anonymousVolumes(c *container.Config, vols map[string]struct{}) {
	for _, v := range slices.Sorted(maps.Keys(vols)) {
		if !slices.ContainsFunc(c.Mounts, func(m container.Mount) bool { return path.Clean(m.Target) == path.Clean(v) }) {
			c.Mounts = append(c.Mounts, container.Mount{Type: "volume", Target: v})
		}
	}
}

// endpointsConfig applies the endpoint settings of the container's
// network (aliases, a fixed address, a MAC address); an endpoint on any
// other network is refused, as the engine joins one at create.
func endpointsConfig(c *container.Config, eps map[string]*network.EndpointSettings) error {
	mode := c.NetworkMode
	if mode == "" {
		mode = "bridge"
	}
	for name, es := range eps {
		if name != mode && (mode != "bridge" || name != "default") {
			return invalid("endpoint for network %s: a container joins one network at create (its network mode %s); connect it to others with docker network connect", name, mode)
		}
		if es == nil {
			continue
		}
		ep, err := endpointConfig(name, &network.EndpointSettings{Aliases: es.Aliases, IPAMConfig: es.IPAMConfig, Links: es.Links, DriverOpts: es.DriverOpts})
		if err != nil {
			return err
		}
		c.NetworkAliases, c.IPAddress = ep.Aliases, ep.IP
		if len(es.MacAddress) > 0 {
			c.MacAddress = es.MacAddress.String()
		}
	}
	return nil
}

// hostConfig applies the HostConfig fields berthd serves.
func hostConfig(c *container.Config, h *dcontainer.HostConfig) error {
	c.AutoRemove, c.Privileged, c.ReadOnly = h.AutoRemove, h.Privileged, h.ReadonlyRootfs
	c.CapAdd, c.CapDrop, c.ExtraHosts, c.DNSSearch, c.DNSOptions = h.CapAdd, h.CapDrop, h.ExtraHosts, h.DNSSearch, h.DNSOptions
	c.Runtime, c.PublishAll = h.Runtime, h.PublishAllPorts
	for _, d := range h.DNS {
		c.DNS = append(c.DNS, d.String())
	}
	if h.Init != nil {
		c.Init = *h.Init
	}
	c.Resources = container.Resources{Memory: h.Memory, NanoCPUs: h.NanoCPUs}
	if h.CPUShares > 0 {
		c.Resources.CPUShares = uint64(h.CPUShares)
	}
	if h.PidsLimit != nil && *h.PidsLimit > 0 {
		c.Resources.PidsLimit = *h.PidsLimit
	}
	if h.Memory < 0 || h.NanoCPUs < 0 {
		return invalid("memory and NanoCpus must not be negative")
	}
	if err := restartPolicy(c, h.RestartPolicy); err != nil {
		return err
	}
	if err := networkMode(c, string(h.NetworkMode)); err != nil {
		return err
	}
	c.IPCMode, c.PIDMode, c.UTSMode = nsMode(string(h.IpcMode)), nsMode(string(h.PidMode)), nsMode(string(h.UTSMode))
	c.Publish = publishSpecs(h)
	return mounts(c, h)
}

// nsMode keeps "host" and "container:ID"; Docker's "private" and
// "shareable" are a namespace of its own, the engine's "".
func nsMode(m string) string {
	if m == "host" || strings.HasPrefix(m, "container:") {
		return m
	}
	return ""
}

func restartPolicy(c *container.Config, p dcontainer.RestartPolicy) error {
	if p.Name == "" || p.Name == "no" {
		return nil
	}
	spec := string(p.Name)
	if p.Name == "on-failure" && p.MaximumRetryCount > 0 {
		spec += ":" + strconv.Itoa(p.MaximumRetryCount)
	} else if p.MaximumRetryCount != 0 {
		return invalid("maximum retry count cannot be used with restart policy '%s'", p.Name)
	}
	rp, err := runopts.ParseRestart(spec)
	if err != nil {
		return invalid("invalid restart policy '%s'", p.Name)
	}
	c.Restart = rp
	return nil
}

func networkMode(c *container.Config, m string) error {
	switch m {
	case "", "default", "bridge":
		c.NetworkMode = "bridge"
	default:
		c.NetworkMode = m
	}
	return nil
}

// publishSpecs turns port bindings into -p specs, sorted.
func publishSpecs(h *dcontainer.HostConfig) []string {
	var out []string
	for port, binds := range h.PortBindings {
		ctr := port.String()
		if len(binds) == 0 {
			out = append(out, ctr)
		}
		for _, b := range binds {
			spec := ctr
			if b.HostPort != "" || b.HostIP.IsValid() {
				spec = b.HostPort + ":" + spec
			}
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				spec = hostIP(b.HostIP) + ":" + spec
			}
			out = append(out, spec)
		}
	}
	slices.Sort(out)
	return out
}

func hostIP(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// mounts applies Binds (-v), Tmpfs and the Mounts list.
func mounts(c *container.Config, h *dcontainer.HostConfig) error {
	for _, b := range h.Binds {
		m, err := runopts.ParseVolume(b)
		if err != nil {
			return invalid("invalid bind %q: %v", b, err)
		}
		c.Mounts = append(c.Mounts, m)
	}
	for target, opts := range h.Tmpfs {
		spec := target
		if opts != "" {
			spec += ":" + opts
		}
		m, err := runopts.ParseTmpfs(spec)
		if err != nil {
			return invalid("invalid tmpfs %q: %v", spec, err)
		}
		c.Mounts = append(c.Mounts, m)
	}
	for _, m := range h.Mounts {
		cm, err := fromMount(m)
		if err != nil {
			return err
		}
		c.Mounts = append(c.Mounts, cm)
	}
	return nil
}

func fromMount(m mount.Mount) (container.Mount, error) {
	cm := container.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	switch m.Type {
	case mount.TypeBind:
		if m.BindOptions != nil && m.BindOptions.Propagation != "" {
			cm.Options = append(cm.Options, string(m.BindOptions.Propagation))
		}
	case mount.TypeVolume:
	case mount.TypeTmpfs:
		if o := m.TmpfsOptions; o != nil {
			if o.SizeBytes > 0 {
				cm.Options = append(cm.Options, "size="+strconv.FormatInt(o.SizeBytes, 10))
			}
			if o.Mode != 0 {
				cm.Options = append(cm.Options, fmt.Sprintf("mode=%o", o.Mode.Perm()))
			}
		}
	default:
		return cm, invalid("mount type %q is not served", m.Type)
	}
	if !strings.HasPrefix(m.Target, "/") {
		return cm, invalid("invalid mount config: the target %q must be an absolute path", m.Target)
	}
	return cm, nil
}
