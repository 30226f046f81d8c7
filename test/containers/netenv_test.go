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
	cfg := fmt.Sprintf("[network]\ndefault_bridge = %q\ndefault_subnet = \"10.%d.%d.0/24\"\n", e.bridge, 200+int(b[0])%50, b[1])
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// netState is the env's berthd's network state directory.
func (e *env) netState() string { return filepath.Join(e.dir, "state", "network") }

// removeDefaultNetwork removes the default network berthd made for the
// env's containers, by its exact name, with its bridge, once berthd is
// gone.
func (e *env) removeDefaultNetwork() {
	if _, err := os.Stat(filepath.Join(e.netState(), "net.d", "bridge.conflist")); err != nil {
		return
	}
	m, err := network.New(network.Options{StateDir: e.netState(), DefaultBridge: e.bridge})
	if err != nil {
		e.t.Errorf("remove the default network: %v", err)
		return
	}
	if err := m.Remove(context.Background(), "bridge"); err != nil && !errors.Is(err, network.ErrNotFound) {
		e.t.Errorf("remove the default network: %v", err)
	}
}
