package engine

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/etcfiles"
)

// TestNextIfNameAfterHighest: a connected interface gets the name after
// the highest in use, also when a lower one was disconnected.
func TestNextIfNameAfterHighest(t *testing.T) {
	for want, s := range map[string]container.NetworkSettings{
		"eth1": {IfName: "eth0"},
		"eth3": {IfName: "eth0", Connected: []container.NetworkSettings{{IfName: "eth2"}}},
		"eth2": {IfName: "eth0", Connected: []container.NetworkSettings{{IfName: "eth1"}, {IfName: "weird"}}},
	} {
		if got := nextIfName(&s); got != want {
			t.Errorf("nextIfName(%+v) = %s, want %s", s, got, want)
		}
	}
}

// TestCheckEndpointRefusesBadInput: --ip on the default network, an
// address that does not parse and an alias no hosts file can hold are
// refused before anything is recorded.
func TestCheckEndpointRefusesBadInput(t *testing.T) {
	n1 := &network.Network{NetworkConfig: network.NetworkConfig{Name: "n1", Subnet: "10.1.2.0/24", Gateway: "10.1.2.1", IPv6: true, Subnet6: "fd00::/64"}, Gateway6: "fd00::1"}
	for _, ep := range []container.Endpoint{
		{Network: defaultNetwork, IP: "10.1.2.3"},
		{Network: "n1", IP: "10.1.2"},
		{Network: "n1", IP: "10.1.3.3"},
	} {
		if err := checkEndpoint(n1, ep); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("checkEndpoint(%+v) = %v, want invalid argument", ep, err)
		}
	}
	if err := checkEndpoint(n1, container.Endpoint{Network: "n1", Aliases: []string{"a b"}}); !errors.Is(err, etcfiles.ErrInvalid) {
		t.Errorf("alias with a space: %v, want etcfiles.ErrInvalid", err)
	}
	if err := checkEndpoint(n1, container.Endpoint{Network: "n1", IP: "fd00::9", Aliases: []string{"web"}}); err != nil {
		t.Errorf("a good endpoint: %v", err)
	}
}
