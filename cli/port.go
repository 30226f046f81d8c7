package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
)

// netSettings decodes the network of a container that runs on one.
func netSettings(c *apiv1.ContainerInfo) *container.NetworkSettings {
	var s container.NetworkSettings
	if len(c.GetNetwork()) == 0 || json.Unmarshal(c.GetNetwork(), &s) != nil {
		return nil
	}
	return &s
}

// hostAddr is a binding's host side, "0.0.0.0:PORT" for every address.
func hostAddr(p container.PortBinding) string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))
}

func newPort(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List a container's published ports, or the host address of one",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			ct, err := c.containers.Get(g.ctx(cmd), &apiv1.ContainerRequest{Id: args[0]})
			if err != nil {
				return err
			}
			var ports []container.PortBinding
			if s := netSettings(ct); s != nil {
				ports = s.Ports
			}
			w := cmd.OutOrStdout()
			if len(args) == 1 {
				for _, p := range ports {
					fmt.Fprintf(w, "%d/%s -> %s\n", p.ContainerPort, p.Protocol, hostAddr(p))
				}
				return nil
			}
			port, proto, _ := strings.Cut(args[1], "/")
			if proto == "" {
				proto = "tcp"
			}
			found := false
			for _, p := range ports {
				if strconv.Itoa(int(p.ContainerPort)) == port && p.Protocol == proto {
					fmt.Fprintln(w, hostAddr(p))
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%w: no public port %s/%s published for %s", errdefs.ErrNotFound, port, proto, ct.GetName())
			}
			return nil
		},
	}
}

// portsColumn is ps's PORTS: "127.0.0.1:8080->80/tcp, ...".
func portsColumn(c *apiv1.ContainerInfo) string {
	s := netSettings(c)
	if s == nil {
		return ""
	}
	var out []string
	for _, p := range s.Ports {
		out = append(out, fmt.Sprintf("%s->%d/%s", hostAddr(p), p.ContainerPort, p.Protocol))
	}
	return strings.Join(out, ", ")
}

// networkDoc is inspect's NetworkSettings, in Docker's shape: Networks
// has an entry for each network of the container's configuration,
// with the interface's addresses while it runs.
func networkDoc(c *apiv1.ContainerInfo) map[string]any {
	nets := map[string]any{}
	var cfg container.Config
	if json.Unmarshal(c.GetConfig(), &cfg) == nil {
		if m := cfg.NetworkMode; m != "none" && m != "host" && !strings.HasPrefix(m, "container:") {
			if m == "" {
				m = "bridge"
			}
			nets[m] = endpointDoc(nil, cfg.NetworkAliases)
		}
		for _, ep := range cfg.Connected {
			nets[ep.Network] = endpointDoc(nil, ep.Aliases)
		}
	}
	s := netSettings(c)
	if s == nil {
		return map[string]any{"Ports": map[string]any{}, "Networks": nets}
	}
	ports := map[string][]map[string]string{}
	for _, p := range s.Ports {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		ports[k] = append(ports[k], map[string]string{"HostIp": ip, "HostPort": strconv.Itoa(int(p.HostPort))})
	}
	ep := endpointDoc(s, cfg.NetworkAliases)
	nets[s.Network] = ep
	for _, o := range s.Connected {
		var aliases []string
		if len(o.Aliases) > 1 {
			aliases = o.Aliases[1:] // the first is the container's name
		}
		nets[o.Network] = endpointDoc(&o, aliases)
	}
	doc := map[string]any{"SandboxKey": s.NetNS, "Ports": ports, "Networks": nets}
	for k, v := range ep {
		if k != "Aliases" {
			doc[k] = v
		}
	}
	return doc
}

// endpointDoc is one entry of inspect's Networks; s is nil for a
// container that does not run.
func endpointDoc(s *container.NetworkSettings, aliases []string) map[string]any {
	ep := map[string]any{"Aliases": aliases, "MacAddress": "", "IPAddress": "", "IPPrefixLen": 0, "Gateway": ""}
	if s == nil {
		return ep
	}
	ep["MacAddress"] = s.MAC
	for _, a := range s.IPs {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is4() {
			ep["IPAddress"], ep["IPPrefixLen"] = p.Addr().String(), p.Bits()
		} else if err == nil {
			ep["GlobalIPv6Address"], ep["GlobalIPv6PrefixLen"] = p.Addr().String(), p.Bits()
		}
	}
	for _, g := range s.Gateways {
		if a, err := netip.ParseAddr(g); err == nil && a.Is4() {
			ep["Gateway"] = g
		} else if err == nil {
			ep["IPv6Gateway"] = g
		}
	}
	return ep
}
