package network

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"

	"github.com/containernetworking/cni/libcni"
)

// CNIVersion is the spec version of the conflists Berth writes: the
// newest the Debian plugins (1.1) speak.
const CNIVersion = "1.0.0"

// NetworkConfig describes a network to create.
type NetworkConfig struct {
	Name    string
	Subnet  string // IPv4 CIDR; empty: a free /24 is chosen
	Gateway string // empty: the subnet's first address
	// Internal networks get no default route: their containers reach
	// only each other and the host's bridge address.
	Internal bool
	IPv6     bool   // dual stack
	Subnet6  string // IPv6 CIDR when IPv6; empty: a ULA /64 from the name
	Isolate  bool   // drop traffic from other bridges (firewall ingressPolicy same-bridge)
	Labels   map[string]string
}

// SetOption applies a driver option (`network create -o KEY=VALUE`);
// the one known is isolate=true|false.
func (c *NetworkConfig) SetOption(key, value string) error {
	b, err := strconv.ParseBool(value)
	if key != "isolate" || err != nil {
		return fmt.Errorf("%w: network option %s=%s (known: isolate=true|false)", ErrInvalidArgument, key, value)
	}
	c.Isolate = b
	return nil
}

// Network is a network as the Manager sees it.
type Network struct {
	NetworkConfig
	Bridge   string
	Gateway6 string
	ConfPath string
	Owned    bool // written by Berth; false for an operator's conflist
	// OwnSNAT: portmap's snat is off and Berth's per-network rules
	// masquerade loopback and hairpin connections to published ports
	// (networks created before this was so leave it to portmap).
	OwnSNAT bool
}

// berthMeta is kept in the conflist's "berth" key, which libcni and the
// plugins ignore.
type berthMeta struct {
	Internal bool              `json:"internal,omitempty"`
	IPv6     bool              `json:"ipv6,omitempty"`
	Isolate  bool              `json:"isolate,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	OwnSNAT  bool              `json:"ownSNAT,omitempty"`
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// bridgeName derives a stable interface name (at most 15 bytes).
func bridgeName(network string) string {
	h := sha256.Sum256([]byte(network))
	return "berth-" + hex.EncodeToString(h[:])[:9]
}

// ula derives a stable unique local /64 from the network's name.
func ula(network string) netip.Prefix {
	h := sha256.Sum256([]byte("berth-ula/" + network))
	var a [16]byte
	a[0] = 0xfd
	copy(a[1:8], h[:7])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// conflist renders n's conflist. n's subnets and gateways are set. The
// firewall plugin, which costs a dozen iptables runs per ADD and DEL, is
// in the list only when it does something: for isolation, or when the
// host's FORWARD policy would drop containers' routed traffic. The MAC
// is set by the bridge plugin, which saves running tuning. portmap's
// snat is off when n.OwnSNAT: it would add three rules, set
// route_localnet and check two shared chains on every ADD, all of which
// Berth does once per network (portSNAT, setRouteLocalnet).
func conflist(n *Network, ipamDir string, forwardAccepts bool) ([]byte, error) {
	ranges := []any{[]map[string]string{{"subnet": n.Subnet, "gateway": n.Gateway}}}
	if n.IPv6 {
		ranges = append(ranges, []map[string]string{{"subnet": n.Subnet6, "gateway": n.Gateway6}})
	}
	routes := []map[string]string{}
	if !n.Internal {
		routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		if n.IPv6 {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	plugins := []any{
		map[string]any{
			"type": "bridge", "bridge": n.Bridge, "isGateway": true, "ipMasq": false,
			"hairpinMode": true, "capabilities": map[string]bool{"ips": true, "mac": true},
			"ipam": map[string]any{"type": "host-local", "ranges": ranges, "routes": routes, "dataDir": ipamDir},
		},
		map[string]any{"type": "portmap", "snat": !n.OwnSNAT, "capabilities": map[string]bool{"portMappings": true}},
	}
	if n.Isolate || !forwardAccepts {
		firewall := map[string]any{"type": "firewall", "backend": "iptables"}
		if n.Isolate {
			firewall["ingressPolicy"] = "same-bridge"
		}
		plugins = append(plugins, firewall)
	}
	doc := map[string]any{
		"cniVersion": CNIVersion,
		"name":       n.Name,
		"berth":      berthMeta{Internal: n.Internal, IPv6: n.IPv6, Isolate: n.Isolate, Labels: n.Labels, OwnSNAT: n.OwnSNAT},
		"plugins":    plugins,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("render conflist: %w", err)
	}
	return b, nil
}

// parseConflist reads back what Berth needs from any conflist: the
// bridge and host-local ranges of its first plugin, and Berth's keys.
func parseConflist(b []byte) (*Network, error) {
	var doc struct {
		Name    string     `json:"name"`
		Berth   *berthMeta `json:"berth"`
		Plugins []struct {
			Type   string `json:"type"`
			Bridge string `json:"bridge"`
			IPAM   struct {
				Ranges [][]struct {
					Subnet  string `json:"subnet"`
					Gateway string `json:"gateway"`
				} `json:"ranges"`
				Subnet  string `json:"subnet"`
				Gateway string `json:"gateway"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	n := &Network{NetworkConfig: NetworkConfig{Name: doc.Name}, Owned: doc.Berth != nil}
	if m := doc.Berth; m != nil {
		n.Internal, n.IPv6, n.Isolate, n.Labels, n.OwnSNAT = m.Internal, m.IPv6, m.Isolate, m.Labels, m.OwnSNAT
	}
	for _, p := range doc.Plugins {
		if p.Bridge != "" && n.Bridge == "" {
			n.Bridge = p.Bridge
		}
		if p.IPAM.Subnet != "" {
			n.Subnet, n.Gateway = p.IPAM.Subnet, p.IPAM.Gateway
		}
		for _, set := range p.IPAM.Ranges {
			for _, r := range set {
				if pf, err := netip.ParsePrefix(r.Subnet); err == nil && pf.Addr().Is6() {
					if n.Subnet6 == "" {
						n.Subnet6, n.Gateway6 = r.Subnet, r.Gateway
					}
				} else if n.Subnet == "" {
					n.Subnet, n.Gateway = r.Subnet, r.Gateway
				}
			}
		}
	}
	return n, nil
}

// subnets lists n's IPv4 and IPv6 subnets.
func (n *Network) subnets() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{n.Subnet, n.Subnet6} {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// withoutIdlePortmap returns list without its portmap plugins when an
// attachment publishes no ports: portmap's ADD then does nothing, but
// its DEL still runs iptables to clean up chains that were never made.
// libcni caches the list an ADD ran, so the DEL skips portmap too. A
// portmap with mappings of its own (a static runtimeConfig) stays.
func withoutIdlePortmap(list *libcni.NetworkConfigList) (*libcni.NetworkConfigList, error) {
	var doc map[string]any
	if err := json.Unmarshal(list.Bytes, &doc); err != nil {
		return nil, fmt.Errorf("network %q: %w", list.Name, err)
	}
	plugins, _ := doc["plugins"].([]any)
	kept := plugins[:0:0]
	for _, p := range plugins {
		if c, ok := p.(map[string]any); ok && c["type"] == "portmap" && c["runtimeConfig"] == nil {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == len(plugins) {
		return list, nil
	}
	doc["plugins"] = kept
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", list.Name, err)
	}
	return libcni.ConfListFromBytes(b)
}
