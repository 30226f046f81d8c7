package cli

import (
	"encoding/json"
	"slices"
	"testing"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
)

// TestNetworkDocListsEveryNetwork: inspect's Networks has one entry per
// network of the container, with its addresses and aliases while it
// runs and without addresses while it does not; host, none and
// container: list none.
func TestNetworkDocListsEveryNetwork(t *testing.T) {
	cfg := container.Config{NetworkMode: "n1", NetworkAliases: []string{"db"},
		Connected: []container.Endpoint{{Network: "n2", Aliases: []string{"web"}}}}
	cb, _ := json.Marshal(cfg)
	s := container.NetworkSettings{Network: "n1", IfName: "eth0", IPs: []string{"10.1.0.2/24"}, MAC: "02:00:00:00:00:01",
		Connected: []container.NetworkSettings{{Network: "n2", IfName: "eth1", IPs: []string{"10.2.0.3/24"}, Aliases: []string{"c1", "web"}}}}
	sb, _ := json.Marshal(s)

	nets := networkDoc(&apiv1.ContainerInfo{Config: cb, Network: sb})["Networks"].(map[string]any)
	n1, n2 := nets["n1"].(map[string]any), nets["n2"].(map[string]any)
	if len(nets) != 2 || n1["IPAddress"] != "10.1.0.2" || !slices.Equal(n1["Aliases"].([]string), []string{"db"}) ||
		n2["IPAddress"] != "10.2.0.3" || n2["IPPrefixLen"] != 24 || !slices.Equal(n2["Aliases"].([]string), []string{"web"}) {
		t.Errorf("running: %v", nets)
	}

	nets = networkDoc(&apiv1.ContainerInfo{Config: cb})["Networks"].(map[string]any)
	if len(nets) != 2 || nets["n1"].(map[string]any)["IPAddress"] != "" || nets["n2"].(map[string]any)["IPAddress"] != "" {
		t.Errorf("stopped: %v", nets)
	}
	for _, mode := range []string{"host", "none", "container:abc"} {
		cb, _ := json.Marshal(container.Config{NetworkMode: mode})
		if nets := networkDoc(&apiv1.ContainerInfo{Config: cb})["Networks"].(map[string]any); len(nets) != 0 {
			t.Errorf("--network %s: %v", mode, nets)
		}
	}
}
