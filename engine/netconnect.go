package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/etcfiles"
)

// ConnectNetwork connects the container ref to the network ep.Network
// (a name or unique ID prefix), besides the network it was created on.
// A running container gets a new interface (eth1, eth2, ...) at once and
// its peers there resolve its name and aliases; a stopped one is
// attached at its next start. Containers without a namespace of their
// own (host, none, container:) cannot be connected, but for one that
// left its only network and does not run, whose own it becomes.
func (e *Engine) ConnectNetwork(ctx context.Context, ns, ref string, ep container.Endpoint) error {
	e.netUse.RLock()
	defer e.netUse.RUnlock()
	n, err := e.Network(ctx, ep.Network)
	if err != nil {
		return err
	}
	ep.Network = n.Name
	if err := checkEndpoint(&n.Network, ep); err != nil {
		return err
	}
	var undo func() // detaches a new interface the record could not keep
	var id string
	err = e.updateNetworks(ctx, ns, ref, func(c *Container, cfg *container.Config, primary string) error {
		id = c.ID
		if primary == n.Name || slices.ContainsFunc(cfg.Connected, func(o container.Endpoint) bool { return o.Network == n.Name }) {
			return fmt.Errorf("%w: container %s is already connected to network %s", errdefs.ErrAlreadyExists, c.Name, n.Name)
		}
		if primary == "" { // it left its network before it ran: this one becomes its own
			cfg.NetworkMode, cfg.NetworkAliases, cfg.IPAddress, cfg.MacAddress, cfg.NetworkLeft = n.Name, ep.Aliases, ep.IP, "", false
			return nil
		}
		if s := c.Status.Network; s != nil && e.task(ns, c.ID) != nil {
			m, err := e.networks()
			if err != nil {
				return err
			}
			a, err := m.Attach(ctx, s.NetNS, c.ID, n.Name, network.AttachOptions{
				IfName: nextIfName(s), IP: ep.IP, Aliases: append([]string{c.Name}, ep.Aliases...),
			})
			if err != nil {
				return err
			}
			s.Connected = append(s.Connected, *settings(a))
			e.refreshHosts(ctx, m, c.ID, n.Name)
			id := c.ID
			undo = func() {
				ctx := context.WithoutCancel(ctx)
				_ = e.detach(ctx, m, id, n.Name) // logged there
				e.refreshHosts(ctx, m, id, "")
			}
		}
		cfg.Connected = append(cfg.Connected, ep)
		return nil
	})
	if err != nil && undo != nil {
		undo()
	}
	if err == nil {
		e.publishAttach("connect", n, id)
	}
	return err
}

// publishAttach publishes /networks/connect or /disconnect as Docker
// reports them: the network's ID and name, and the container's ID.
func (e *Engine) publishAttach(action string, n NetworkInfo, containerID string) {
	e.events.Publish("", events.TopicNetworks, action, map[string]string{
		"id": n.ID, "name": n.Name, "container": containerID, "type": "bridge",
	})
}

// DisconnectNetwork disconnects the container ref from a network it was
// connected to: a running one loses that interface and its peers there
// its name. With force, an attachment the record does not list (left by
// a crash) is removed too and not being connected is no error. The
// network the container was created on stays while it runs; before, the
// container may leave it (leavePrimary).
func (e *Engine) DisconnectNetwork(ctx context.Context, ns, ref, name string, force bool) error {
	n, err := e.Network(ctx, name)
	if err != nil {
		return err
	}
	var id string
	err = e.updateNetworks(ctx, ns, ref, func(c *Container, cfg *container.Config, primary string) error {
		id = c.ID
		if primary == n.Name {
			if e.task(ns, c.ID) != nil {
				return fmt.Errorf("%w: network %s is container %s's own (--network); only networks added with connect can be disconnected while it runs", errdefs.ErrInvalidArgument, n.Name, c.Name)
			}
			leavePrimary(cfg)
			return nil
		}
		i := slices.IndexFunc(cfg.Connected, func(o container.Endpoint) bool { return o.Network == n.Name })
		if i < 0 && !force {
			return fmt.Errorf("%w: container %s is not connected to network %s", errdefs.ErrNotFound, c.Name, n.Name)
		}
		if s := c.Status.Network; (s != nil && e.task(ns, c.ID) != nil) || force {
			m, err := e.networks()
			if err != nil {
				return err
			}
			if err := e.detach(ctx, m, c.ID, n.Name); err != nil {
				return fmt.Errorf("disconnect %s from %s: %w", c.Name, n.Name, err)
			}
			if s != nil {
				s.Connected = slices.DeleteFunc(s.Connected, func(o container.NetworkSettings) bool { return o.Network == n.Name })
				e.refreshHosts(ctx, m, c.ID, "")
			}
		}
		if i >= 0 {
			cfg.Connected = slices.Delete(cfg.Connected, i, i+1)
		}
		return nil
	})
	if err == nil {
		e.publishAttach("disconnect", n, id)
	}
	return err
}

// updateNetworks runs fn on the container ref's record and
// configuration under its lock and saves both. Containers without a
// namespace of their own are refused, but for one that left its only
// network (leavePrimary) and does not run: fn gets primary "" for it.
func (e *Engine) updateNetworks(ctx context.Context, ns, ref string, fn func(c *Container, cfg *container.Config, primary string) error) error {
	c, unlock, err := e.lockedContainer(ctx, ns, ref)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := ContainerConfig(c)
	if err != nil {
		return err
	}
	kind, primary := netMode(cfg)
	leftIdle := kind == modeNone && cfg.NetworkLeft && e.task(ns, c.ID) == nil
	if kind != modeCNI && !leftIdle {
		return fmt.Errorf("%w: container %s has --network %s: it cannot be connected to networks", errdefs.ErrInvalidArgument, c.Name, cfg.NetworkMode)
	}
	if err := fn(&c, &cfg, primary); err != nil {
		return err
	}
	if c.Config, err = json.Marshal(cfg); err != nil {
		return err
	}
	_, err = e.meta.Containers().Update(ctx, ns, c)
	return err
}

// leavePrimary takes a container that does not run off the network it
// was created on, as Docker lets a container leave any network before it
// starts: the first network it was connected to takes that one's place,
// else it is on none until a connect.
func leavePrimary(cfg *container.Config) {
	cfg.MacAddress = ""
	if len(cfg.Connected) == 0 {
		cfg.NetworkMode, cfg.NetworkAliases, cfg.IPAddress, cfg.NetworkLeft = modeNone, nil, "", true
		return
	}
	ep := cfg.Connected[0]
	cfg.NetworkMode, cfg.NetworkAliases, cfg.IPAddress = ep.Network, ep.Aliases, ep.IP
	cfg.Connected = slices.Delete(cfg.Connected, 0, 1)
}

// checkEndpoint validates what connect records before any start uses it.
func checkEndpoint(n *network.Network, ep container.Endpoint) error {
	if ep.IP != "" {
		if ep.Network == defaultNetwork {
			return fmt.Errorf("%w: --ip is only for user-defined networks", errdefs.ErrInvalidArgument)
		}
		if err := n.CheckIP(ep.IP); err != nil {
			return err
		}
	}
	for _, a := range ep.Aliases {
		if err := etcfiles.CheckName(a); err != nil {
			return fmt.Errorf("--alias: %w", err)
		}
	}
	return nil
}

// nextIfName is the interface name after the highest s uses.
func nextIfName(s *container.NetworkSettings) string {
	last := 0
	for _, o := range append([]container.NetworkSettings{*s}, s.Connected...) {
		if i, err := strconv.Atoi(strings.TrimPrefix(o.IfName, "eth")); err == nil && i > last {
			last = i
		}
	}
	return "eth" + strconv.Itoa(last+1)
}

// refreshHosts rewrites the hosts file of the running container id and,
// if network is a user network, those of its peers there.
func (e *Engine) refreshHosts(ctx context.Context, m *network.Manager, id, network string) {
	e.hostsMu.Lock()
	defer e.hostsMu.Unlock()
	if err := e.rewriteHosts(ctx, m, id); err != nil && !errors.Is(err, ErrContainerNotFound) {
		e.log.Warn("update a container's hosts file", "id", id, "err", err)
	}
	if network != "" && network != defaultNetwork {
		e.refreshPeers(ctx, m, network, id)
	}
}
