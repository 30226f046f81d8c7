package engine

import (
	"fmt"
	"path/filepath"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/network"
)

// NetworkConfig configures container networking (CNI).
type NetworkConfig struct {
	// ConfDir holds the networks' conflists; empty is <Root>/network/net.d:
	// networks outlive a reboot, while what attaches containers to them
	// (namespaces, CNI's cache, IPAM reservations) is state.
	ConfDir string
	// PluginDirs are searched for CNI plugins; empty is /usr/lib/cni and
	// /opt/cni/bin.
	PluginDirs []string
	// DefaultSubnet and DefaultBridge shape the default "bridge" network;
	// empty takes network.Options' defaults.
	DefaultSubnet, DefaultBridge string
}

// networks returns the engine's network manager, opening it on first
// use: a host without the CNI plugins runs every container that needs
// no network of its own.
func (e *Engine) networks() (*network.Manager, error) {
	e.netOnce.Do(func() {
		c := e.cfg.Network
		if c.ConfDir == "" {
			c.ConfDir = filepath.Join(e.cfg.Root, "network", "net.d")
		}
		e.net, e.netErr = network.New(network.Options{
			StateDir:      filepath.Join(e.cfg.State, "network"),
			ConfDir:       c.ConfDir,
			PluginDirs:    c.PluginDirs,
			DefaultSubnet: c.DefaultSubnet,
			DefaultBridge: c.DefaultBridge,
		})
		if e.netErr != nil {
			e.netErr = fmt.Errorf("%w: container networking: %w", errdefs.ErrUnavailable, e.netErr)
		}
	})
	return e.net, e.netErr
}
