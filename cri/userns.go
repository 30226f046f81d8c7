package cri

import (
	"fmt"
	"math"
	"slices"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podUserNS is the user namespace a pod's namespace options ask for
// (the kubelet's hostUsers: false): none for the host's (no options, or
// mode NODE without mappings), else mode POD with exactly one uid and
// one gid mapping, each of container id 0 to a range of host ids that
// leaves out the host's root, as containerd and CRI-O take them.
func podUserNS(u *runtimeapi.UserNamespace) (uids, gids []container.IDMapping, err error) {
	if u == nil {
		return nil, nil, nil
	}
	switch u.GetMode() {
	case runtimeapi.NamespaceMode_NODE:
		if len(u.GetUids()) > 0 || len(u.GetGids()) > 0 {
			return nil, nil, fmt.Errorf("%w: user namespace mode NODE takes no mappings (have %d uid and %d gid mappings)", errdefs.ErrInvalidArgument, len(u.GetUids()), len(u.GetGids()))
		}
		return nil, nil, nil
	case runtimeapi.NamespaceMode_POD:
	default:
		return nil, nil, fmt.Errorf("%w: user namespace mode %v (want NODE or POD)", errdefs.ErrInvalidArgument, u.GetMode())
	}
	if uids, err = podIDMapping("uid", u.GetUids()); err != nil {
		return nil, nil, err
	}
	if gids, err = podIDMapping("gid", u.GetGids()); err != nil {
		return nil, nil, err
	}
	return uids, gids, nil
}

// podIDMapping checks a pod's uid or gid mappings: one line mapping
// container id 0 onward to host ids above 0, within the id space.
func podIDMapping(kind string, ms []*runtimeapi.IDMapping) ([]container.IDMapping, error) {
	if len(ms) != 1 {
		return nil, fmt.Errorf("%w: user namespace mode POD needs exactly one %s mapping, have %d", errdefs.ErrInvalidArgument, kind, len(ms))
	}
	m := ms[0]
	switch {
	case m.GetLength() == 0:
		return nil, fmt.Errorf("%w: %s mapping of length 0", errdefs.ErrInvalidArgument, kind)
	case m.GetContainerId() != 0:
		return nil, fmt.Errorf("%w: %s mapping starts at container id %d; it must map the pod's root, id 0", errdefs.ErrInvalidArgument, kind, m.GetContainerId())
	case m.GetHostId() == 0:
		return nil, fmt.Errorf("%w: %s mapping would make the host's root (host id 0) the pod's", errdefs.ErrInvalidArgument, kind)
	case uint64(m.GetHostId())+uint64(m.GetLength()) > math.MaxUint32:
		return nil, fmt.Errorf("%w: %s mapping of host ids %d to %d goes past the last id", errdefs.ErrInvalidArgument, kind, m.GetHostId(), uint64(m.GetHostId())+uint64(m.GetLength())-1)
	}
	return []container.IDMapping{{ContainerID: 0, HostID: m.GetHostId(), Size: m.GetLength()}}, nil
}

// sandboxUserNS checks a pod's user namespace options against its
// runtime handler (engine runtime rt): the mappings of its own, or none.
func (s *Server) sandboxUserNS(rt, handler string, u *runtimeapi.UserNamespace) (uids, gids []container.IDMapping, err error) {
	uids, gids, err = podUserNS(u)
	if err != nil || uids == nil {
		return nil, nil, err
	}
	if !s.cfg.Engine.UserNamespaces(rt) {
		return nil, nil, fmt.Errorf("%w: runtime handler %q does not support user namespaces", errdefs.ErrInvalidArgument, handler)
	}
	return uids, gids, nil
}

// containerUserNS puts a container of a pod with its own user namespace
// in it, its bind mounts idmapped with the pod's mappings (files the pod's
// root writes are the host's root's on the host). The container's options,
// when given, must be the pod's.
func containerUserNS(cfg *container.Config, sandboxID string, sm sandboxMeta, u *runtimeapi.UserNamespace) error {
	if u != nil {
		uids, gids, err := podUserNS(u)
		if err != nil {
			return fmt.Errorf("container: %w", err)
		}
		if !slices.Equal(uids, sm.UIDMappings) || !slices.Equal(gids, sm.GIDMappings) {
			return fmt.Errorf("%w: the container's user namespace options differ from its pod's", errdefs.ErrInvalidArgument)
		}
	}
	if len(sm.UIDMappings) == 0 {
		return nil
	}
	cfg.UserNSMode = "container:" + sandboxID
	cfg.UIDMappings, cfg.GIDMappings = sm.UIDMappings, sm.GIDMappings
	for i, m := range cfg.Mounts {
		if m.Type == "bind" {
			cfg.Mounts[i].Options = append(cfg.Mounts[i].Options, "idmap")
		}
	}
	return nil
}

// userNSStatus is the user namespace options of a pod's status.
func userNSStatus(sm sandboxMeta) *runtimeapi.UserNamespace {
	if len(sm.UIDMappings) == 0 {
		return &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}
	}
	conv := func(ms []container.IDMapping) []*runtimeapi.IDMapping {
		var out []*runtimeapi.IDMapping
		for _, m := range ms {
			out = append(out, &runtimeapi.IDMapping{ContainerId: m.ContainerID, HostId: m.HostID, Length: m.Size})
		}
		return out
	}
	return &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: conv(sm.UIDMappings), Gids: conv(sm.GIDMappings)}
}
