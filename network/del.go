package network

import (
	"context"
	"fmt"

	"github.com/containernetworking/cni/libcni"
)

// rulePlugins only write host firewall rules keyed by the container's
// ID and addresses: their DEL needs neither the interface nor the
// namespace.
var rulePlugins = map[string]bool{"portmap": true, "firewall": true}

// del runs the DEL of a cached attachment. When every plugin after the
// first is a rule plugin, their DEL (through libcni's cache: they get
// the ADD's result, and the cache entry goes only when they succeed)
// runs at the same time as the first plugin's (bridge: the veth and the
// IPAM release), which needs no previous result and runs without the
// cache. libcni runs a chain's DELs one after another; this saves the
// shorter of the two. A host port stays taken until its DNAT rule is
// gone (the cache entry lists it until then); the address may be freed
// a few milliseconds before, which host-local hands out again last (it
// allocates round robin).
func (m *Manager) del(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	if len(list.Plugins) < 2 {
		return m.cni.DelNetworkList(ctx, list, rt)
	}
	for _, p := range list.Plugins[1:] {
		if !rulePlugins[p.Network.Type] {
			return m.cni.DelNetworkList(ctx, list, rt)
		}
	}
	head := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[:1]}
	tail := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[1:]}
	done := make(chan error, 1)
	go func() { done <- m.cni.DelNetworkList(ctx, tail, rt) }()
	herr := m.nocache.DelNetworkList(ctx, head, rt)
	terr := <-done
	if herr != nil && terr == nil {
		// The cache entry is gone with the tail's success: this is the
		// last chance to release the interface and address.
		herr = m.nocache.DelNetworkList(ctx, head, rt)
	}
	switch {
	case herr != nil && terr != nil:
		return fmt.Errorf("%w; %v", terr, herr)
	case terr != nil:
		return terr
	}
	return herr
}
