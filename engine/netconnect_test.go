package engine

import (
	"errors"
	"slices"
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

// TestLeavePrimary: a container that leaves the network it was created
// on before it runs takes the first connected network as its own, with
// that endpoint's aliases and address, or is left on none, marked so
// that a connect may give it a network again.
func TestLeavePrimary(t *testing.T) {
	cfg := container.Config{NetworkMode: "n1", NetworkAliases: []string{"web"}, IPAddress: "10.1.2.3", MacAddress: "02:00:00:00:00:01",
		Connected: []container.Endpoint{{Network: "n2", IP: "10.2.0.9", Aliases: []string{"db"}}, {Network: "n3"}}}
	leavePrimary(&cfg)
	if cfg.NetworkMode != "n2" || !slices.Equal(cfg.NetworkAliases, []string{"db"}) || cfg.IPAddress != "10.2.0.9" || cfg.MacAddress != "" || cfg.NetworkLeft ||
		len(cfg.Connected) != 1 || cfg.Connected[0].Network != "n3" {
		t.Errorf("after leaving n1: %+v", cfg)
	}
	leavePrimary(&cfg)
	leavePrimary(&cfg)
	if cfg.NetworkMode != modeNone || !cfg.NetworkLeft || cfg.NetworkAliases != nil || cfg.IPAddress != "" || len(cfg.Connected) != 0 {
		t.Errorf("after leaving every network: %+v", cfg)
	}
}
