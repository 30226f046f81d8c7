package network

import (
	"fmt"
	"net/netip"
)

// CheckIP tells whether addr may be asked for as a container's fixed
// address on n (`--ip`): an address of one of n's subnets that is neither
// the subnet's own address, its IPv4 broadcast address nor a gateway. A
// network whose conflist names no subnet (an operator's) accepts any
// well-formed address and leaves the rest to its IPAM plugin.
func (n *Network) CheckIP(addr string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("%w: --ip %q is not an IP address", ErrInvalidArgument, addr)
	}
	a = a.Unmap()
	subnet, gateway := n.Subnet, n.Gateway
	if a.Is6() {
		subnet, gateway = n.Subnet6, n.Gateway6
	}
	if subnet == "" {
		if n.Subnet == "" && n.Subnet6 == "" {
			return nil
		}
		return fmt.Errorf("%w: --ip %s: network %s has no IPv%d subnet", ErrInvalidArgument, a, n.Name, ipVersion(a))
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return nil // not ours to judge; IPAM will
	}
	p = p.Masked()
	switch {
	case !p.Contains(a):
		return fmt.Errorf("%w: --ip %s is outside network %s's subnet %s", ErrInvalidArgument, a, n.Name, p)
	case a == p.Addr():
		return fmt.Errorf("%w: --ip %s is subnet %s's own address", ErrInvalidArgument, a, p)
	case a.Is4() && a == lastAddr(p):
		return fmt.Errorf("%w: --ip %s is subnet %s's broadcast address", ErrInvalidArgument, a, p)
	case gateway != "" && a.String() == gateway:
		return fmt.Errorf("%w: --ip %s is network %s's gateway", ErrInvalidArgument, a, n.Name)
	case gateway == "" && a == p.Addr().Next():
		return fmt.Errorf("%w: --ip %s is network %s's gateway", ErrInvalidArgument, a, n.Name)
	}
	return nil
}

func ipVersion(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
