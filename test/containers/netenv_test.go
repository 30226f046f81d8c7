package containers_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/network"
)

// config writes the env's berthd configuration, once: a default bridge
// network of its own (bridge name and subnet), so that tests and other
// berthd instances on the machine never share one.
func (e *env) config() string {
	p := filepath.Join(e.dir, "berthd.toml")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.bridge = fmt.Sprintf("bt%x", b)
	cfg := fmt.Sprintf("[network]\ndefault_bridge = %q\ndefault_subnet = \"10.%d.%d.0/24\"\n", e.bridge, 210+int(b[0])%40, b[1])
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// netState is the env's berthd's network state directory.
func (e *env) netState() string { return filepath.Join(e.dir, "state", "network") }

// netConf is where the env's berthd keeps its networks' conflists.
func (e *env) netConf() string { return filepath.Join(e.dir, "root", "network", "net.d") }

// createNetwork makes an internal user network for the env's berthd
// (as `berth network create` would) and returns its name and subnet;
// the env removes it when it ends.
func (e *env) createNetwork() (string, string) {
	e.t.Helper()
	m, err := network.New(network.Options{StateDir: e.netState(), ConfDir: e.netConf()})
	if err != nil {
		e.t.Skipf("no container networking: %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("tnet%x", b)
	n, err := m.Create(context.Background(), network.NetworkConfig{Name: name, Internal: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.networks = append(e.networks, name)
	return name, n.Subnet
}

// removeDefaultNetwork removes the networks berthd and the test made
// for the env's containers, by their exact names, with their bridges,
// once berthd is gone.
func (e *env) removeDefaultNetwork() {
	if _, err := os.Stat(filepath.Join(e.netConf(), "bridge.conflist")); err == nil {
		e.networks = append(e.networks, "bridge")
	}
	if len(e.networks) == 0 {
		return
	}
	m, err := network.New(network.Options{StateDir: e.netState(), ConfDir: e.netConf(), DefaultBridge: e.bridge})
	if err != nil {
		e.t.Errorf("remove the env's networks: %v", err)
		return
	}
	for _, n := range e.networks {
		if err := m.Remove(context.Background(), n); err != nil && !errors.Is(err, network.ErrNotFound) {
			e.t.Errorf("remove network %s: %v", n, err)
		}
	}
}
