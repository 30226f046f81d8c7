package runopts

import (
	"net"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/network/ports"
)

// netOptions are the raw values of the network flags.
type netOptions struct {
	mac, ip                             string
	networks                            []string // --network, once
	publish, dns, dnsSearch, dnsOptions []string
	addHosts, aliases                   []string
	publishAll                          bool
}

func (n *netOptions) addFlags(fs *pflag.FlagSet) {
	StringArrayVarP(fs, &n.networks, "network", "", "network: bridge (default)|none|host|container:NAME|a network's name")
	StringArrayVarP(fs, &n.networks, "net", "", "same as --network")
	_ = fs.MarkHidden("net")
	StringArrayVarP(fs, &n.publish, "publish", "p", "publish a container port: [ip:][hostport:]ctrport[/proto]")
	fs.BoolVarP(&n.publishAll, "publish-all", "P", false, "publish the image's exposed ports on free host ports")
	StringArrayVarP(fs, &n.dns, "dns", "", "DNS server for the container's resolv.conf")
	StringArrayVarP(fs, &n.dnsSearch, "dns-search", "", `DNS search domain ("." for none)`)
	StringArrayVarP(fs, &n.dnsOptions, "dns-option", "", "resolver option (ndots:2)")
	StringArrayVarP(fs, &n.addHosts, "add-host", "", "add an /etc/hosts entry: name:ip")
	fs.StringVar(&n.mac, "mac-address", "", "the container's MAC address")
	fs.StringVar(&n.ip, "ip", "", "the container's IPv4 address on a user-defined network")
	StringArrayVarP(fs, &n.aliases, "network-alias", "", "another name the container has on its network")
}

// networking checks the network flags; without --network the container
// is on the default bridge network, as Docker's.
func (o *Options) networking(c *container.Config) error {
	n := o.net
	if len(n.networks) > 1 {
		return flagError("network", strings.Join(n.networks, " "), "one network at create; add others with berth network connect")
	}
	network := ""
	if len(n.networks) == 1 {
		network = n.networks[0]
	}
	switch {
	case network == "" || network == "default":
		c.NetworkMode = "bridge"
	case strings.HasPrefix(network, "container:"):
		if !validName(strings.TrimPrefix(network, "container:")) {
			return flagError("network", network, "want container:NAME")
		}
		c.NetworkMode = network
	case validName(network) || network == "none" || network == "host":
		c.NetworkMode = network
	default:
		return flagError("network", network, "not a network name")
	}
	if _, err := ports.ParseAll(n.publish); err != nil {
		return flagError("publish", strings.Join(n.publish, " "), "%v", err)
	}
	c.Publish, c.PublishAll = n.publish, n.publishAll
	for _, d := range n.dns {
		if _, err := netip.ParseAddr(d); err != nil {
			return flagError("dns", d, "not an IP address")
		}
	}
	for _, h := range n.addHosts {
		name, ip, ok := strings.Cut(h, ":")
		if _, err := netip.ParseAddr(strings.Trim(ip, "[]")); !ok || err != nil || !validHostname(name) {
			return flagError("add-host", h, "want name:ip")
		}
	}
	if n.mac != "" {
		if hw, err := net.ParseMAC(n.mac); err != nil || len(hw) != 6 {
			return flagError("mac-address", n.mac, "not a MAC address")
		}
	}
	if n.ip != "" {
		if _, err := netip.ParseAddr(n.ip); err != nil {
			return flagError("ip", n.ip, "not an IP address")
		}
	}
	for _, a := range n.aliases {
		if !validHostname(a) {
			return flagError("network-alias", a, "not a valid host name")
		}
	}
	c.DNS, c.DNSSearch, c.DNSOptions, c.ExtraHosts = n.dns, n.dnsSearch, n.dnsOptions, n.addHosts
	c.MacAddress, c.IPAddress, c.NetworkAliases = n.mac, n.ip, n.aliases
	return nil
}
