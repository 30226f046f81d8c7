package network

import (
	"errors"
	"testing"
)

// TestCheckIP: a fixed address must lie in the network's subnet of its
// family and be none of the subnet's own, broadcast or gateway addresses.
func TestCheckIP(t *testing.T) {
	n := &Network{NetworkConfig: NetworkConfig{Name: "n", Subnet: "10.9.0.0/24", Gateway: "10.9.0.1", IPv6: true, Subnet6: "fd00:9::/64"}, Gateway6: "fd00:9::1"}
	v4only := &Network{NetworkConfig: NetworkConfig{Name: "v4", Subnet: "10.8.0.0/16"}}
	operator := &Network{NetworkConfig: NetworkConfig{Name: "op"}}
	cases := []struct {
		n    *Network
		ip   string
		good bool
	}{
		{n, "10.9.0.2", true},
		{n, "10.9.0.254", true},
		{n, "fd00:9::42", true},
		{n, "::ffff:10.9.0.7", true},
		{v4only, "10.8.255.254", true},
		{operator, "192.0.2.9", true},
		{n, "10.9.1.2", false},      // outside
		{n, "10.9.0.0", false},      // the subnet's own
		{n, "10.9.0.255", false},    // broadcast
		{n, "10.9.0.1", false},      // gateway
		{n, "fd00:9::1", false},     // IPv6 gateway
		{n, "fd00:a::2", false},     // outside, IPv6
		{n, "10.9.0.x", false},      // not an address
		{n, "fe80::1%eth0", false},  // a zone
		{v4only, "fd00::2", false},  // no IPv6 subnet
		{v4only, "10.8.0.1", false}, // the default gateway, first address
		{v4only, "10.8.255.255", false},
	}
	for _, c := range cases {
		err := c.n.CheckIP(c.ip)
		if c.good && err != nil {
			t.Errorf("%s.CheckIP(%s) = %v, want nil", c.n.Name, c.ip, err)
		}
		if !c.good && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s.CheckIP(%s) = %v, want invalid argument", c.n.Name, c.ip, err)
		}
	}
}
