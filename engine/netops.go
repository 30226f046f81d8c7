package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/network"
)

// DefaultNetwork is the network containers join unless told otherwise;
// it is never removed.
const DefaultNetwork = "bridge"

var errNoSuchNetwork = errdefs.New(errdefs.ErrNotFound, "no such network")

// NetworkInfo is a network with what the engine adds: an ID, when it was
// made and the containers attached to it.
type NetworkInfo struct {
	network.Network
	ID          string    // hex SHA-256 of the name
	Created     time.Time // the conflist's modification time
	Attachments []*network.Attachment
}

// netManager returns the network manager with the default network made.
func (e *Engine) netManager(ctx context.Context) (*network.Manager, error) {
	m, err := e.networks()
	if err != nil {
		return nil, err
	}
	if _, err := m.EnsureDefault(ctx); err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
		return nil, fmt.Errorf("default network: %w", err)
	}
	return m, nil
}

// CreateNetwork writes a new network and publishes /networks/create.
// The names of the predefined network modes host and none are refused.
func (e *Engine) CreateNetwork(ctx context.Context, c network.NetworkConfig) (NetworkInfo, error) {
	if c.Name == "host" || c.Name == "none" {
		return NetworkInfo{}, fmt.Errorf("create network %q: %w: the name of a predefined network mode", c.Name, errdefs.ErrAlreadyExists)
	}
	m, err := e.netManager(ctx)
	if err != nil {
		return NetworkInfo{}, err
	}
	n, err := m.Create(ctx, c)
	if err != nil {
		return NetworkInfo{}, err
	}
	info := networkInfo(n, nil)
	e.events.Publish("", events.TopicNetworks, "create", map[string]string{"id": info.ID, "name": n.Name})
	return info, nil
}

// Network returns the network called name, or whose ID starts with name
// when no network has that name and the prefix is unique.
func (e *Engine) Network(ctx context.Context, name string) (NetworkInfo, error) {
	m, err := e.netManager(ctx)
	if err != nil {
		return NetworkInfo{}, err
	}
	all, err := m.List(ctx)
	if err != nil {
		return NetworkInfo{}, err
	}
	var found []*network.Network
	for _, n := range all {
		if n.Name == name {
			found = []*network.Network{n}
			break
		}
		if name != "" && strings.HasPrefix(NetworkID(n.Name), name) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return NetworkInfo{}, fmt.Errorf("%w: %s", errNoSuchNetwork, name)
	case 1:
	default:
		return NetworkInfo{}, fmt.Errorf("%w: network ID prefix %q is ambiguous", errdefs.ErrInvalidArgument, name)
	}
	atts, err := m.Attachments(ctx, found[0].Name)
	if err != nil {
		return NetworkInfo{}, err
	}
	return networkInfo(found[0], atts), nil
}

// Networks lists every network by name, with its attachments.
func (e *Engine) Networks(ctx context.Context) ([]NetworkInfo, error) {
	m, err := e.netManager(ctx)
	if err != nil {
		return nil, err
	}
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	atts, err := m.Attachments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]NetworkInfo, 0, len(all))
	for _, n := range all {
		var mine []*network.Attachment
		for _, a := range atts {
			if a.Network == n.Name {
				mine = append(mine, a)
			}
		}
		out = append(out, networkInfo(n, mine))
	}
	return out, nil
}

// RemoveNetwork removes a network Berth made (by name or ID prefix) and
// publishes /networks/delete. The default network and a network with
// containers attached are a conflict.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	e.netUse.Lock()
	defer e.netUse.Unlock()
	n, err := e.Network(ctx, name)
	if err != nil {
		return err
	}
	if n.Name == DefaultNetwork {
		return fmt.Errorf("remove network %q: %w: the default network stays", n.Name, errdefs.ErrConflict)
	}
	if len(n.Attachments) > 0 {
		return fmt.Errorf("remove network %q: %w: in use by container(s) %s", n.Name, errdefs.ErrConflict, users(n.Attachments))
	}
	created, connected, err := e.recordedUsers(ctx, n.Name)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		return fmt.Errorf("remove network %q: %w: container(s) %s were created on it (berth rm them first)", n.Name, errdefs.ErrConflict, strings.Join(created, ", "))
	}
	if len(connected) > 0 {
		return fmt.Errorf("remove network %q: %w: container(s) %s connected to it (berth network disconnect)", n.Name, errdefs.ErrConflict, strings.Join(connected, ", "))
	}
	m, err := e.networks()
	if err != nil {
		return err
	}
	if err := m.Remove(ctx, n.Name); err != nil {
		return err
	}
	e.events.Publish("", events.TopicNetworks, "delete", map[string]string{"id": n.ID, "name": n.Name})
	return nil
}

// PruneNetworks removes every network Berth made that no container
// uses, except the default one, and returns their names. Filters
// "label=KEY[=VALUE]" and "label!=KEY[=VALUE]" keep it to the networks
// that have (or lack) each such label.
func (e *Engine) PruneNetworks(ctx context.Context, filters ...string) ([]string, error) {
	match, err := labelFilter(filters)
	if err != nil {
		return nil, err
	}
	all, err := e.Networks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range all {
		if n.Name == DefaultNetwork || !n.Owned || len(n.Attachments) > 0 || !match(n.Labels) {
			continue
		}
		// Attached to since listed: skip it, as Docker's prune does.
		if err := e.RemoveNetwork(ctx, n.Name); errors.Is(err, errdefs.ErrConflict) {
			continue
		} else if err != nil {
			return removed, err
		}
		removed = append(removed, n.Name)
	}
	return removed, nil
}

// users names the containers of atts: a name (the first alias) and a
// short ID.
func users(atts []*network.Attachment) string {
	var out []string
	for _, a := range atts {
		id := a.ContainerID[:min(12, len(a.ContainerID))]
		if len(a.Aliases) > 0 {
			id = a.Aliases[0] + " (" + id + ")"
		}
		out = append(out, id)
	}
	return strings.Join(out, ", ")
}

func networkInfo(n *network.Network, atts []*network.Attachment) NetworkInfo {
	info := NetworkInfo{Network: *n, ID: NetworkID(n.Name), Attachments: atts}
	if st, err := os.Stat(n.ConfPath); err == nil {
		info.Created = st.ModTime().UTC()
	}
	return info
}

// NetworkID is a network's ID: stable, derived from its unique name.
func NetworkID(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// recordedUsers names the containers whose records name the network,
// stopped ones included: those created on it (their next start would
// find it gone) and those connected to it.
func (e *Engine) recordedUsers(ctx context.Context, name string) (created, connected []string, err error) {
	nss, err := e.meta.Namespaces().List(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, ns := range nss {
		list, err := e.meta.Containers().List(ctx, ns)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range list {
			cfg := configOf(c)
			if kind, primary := netMode(cfg); kind == modeCNI && primary == name {
				created = append(created, c.Name)
			}
			if slices.ContainsFunc(cfg.Connected, func(ep container.Endpoint) bool { return ep.Network == name }) {
				connected = append(connected, c.Name)
			}
		}
	}
	return created, connected, nil
}

// labelFilter turns "label=KEY[=VALUE]" and "label!=KEY[=VALUE]"
// filters into a predicate on labels that holds when each does.
func labelFilter(filters []string) (func(map[string]string) bool, error) {
	type cond struct {
		key, value string
		hasValue   bool
		want       bool
	}
	var conds []cond
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		if (k != "label" && k != "label!") || v == "" {
			return nil, fmt.Errorf("%w: network filter %q: want label=KEY[=VALUE] or label!=KEY[=VALUE]", errdefs.ErrInvalidArgument, f)
		}
		lk, lv, hasValue := strings.Cut(v, "=")
		conds = append(conds, cond{key: lk, value: lv, hasValue: hasValue, want: k == "label"})
	}
	return func(labels map[string]string) bool {
		for _, c := range conds {
			got, ok := labels[c.key]
			if (ok && (!c.hasValue || got == c.value)) != c.want {
				return false
			}
		}
		return true
	}, nil
}
