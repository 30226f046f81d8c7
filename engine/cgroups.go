package engine

import (
	"fmt"
	"path"
	"strings"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/container"
)

// Where containers' cgroups go (the cgroupfs layout, in every
// hierarchy): <CgroupParent>/berth-<id>, /berth-<id> without a parent,
// and a pod cgroup the engine makes is /berth-pod-<id> of the container
// that asked for it (container.Config.PodCgroup).
const (
	cgroupPrefix    = "berth-"
	podCgroupPrefix = "berth-pod-"
)

// podCgroupPath is the pod cgroup of container id. Its removal goes by
// this path, derived from the ID, never by a recorded one, so that the
// engine can remove no parent it did not make.
func podCgroupPath(id string) string { return "/" + podCgroupPrefix + id }

// cgroupPath is the cgroup of container id with config cfg, as its spec
// gives it (containerSpec).
func cgroupPath(id string, cfg container.Config) string {
	return path.Join("/", cfg.CgroupParent, cgroupPrefix+id)
}

// recordedCgroup is the cgroup of the container of record c: under the
// parent its recorded config names (a record made before parents were
// kept has none: /berth-<id>).
func recordedCgroup(c Container) string {
	cfg, err := ContainerConfig(c)
	if err != nil {
		return cgroupPath(c.ID, container.Config{})
	}
	return cgroupPath(c.ID, cfg)
}

// checkCgroupParent refuses a cgroup parent that is not a clean
// absolute cgroupfs path (a CRI client's input): a systemd slice
// (slice:prefix:name), a relative path, one with . or .. or a control
// character. "/" is the top, as no parent.
func checkCgroupParent(cfg *container.Config) error {
	p := cfg.CgroupParent
	switch {
	case p == "":
		return nil
	case !strings.HasPrefix(p, "/") && (strings.Count(p, ":") == 2 || strings.HasSuffix(p, ".slice")):
		return fmt.Errorf("%w: cgroup parent %q is a systemd slice; the engine uses the cgroupfs driver (an absolute path such as /kubepods/pod<uid>)", ErrInvalidConfig, p)
	case !path.IsAbs(p) || path.Clean(p) != p:
		return fmt.Errorf("%w: cgroup parent %q must be a clean absolute path", ErrInvalidConfig, p)
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("%w: cgroup parent %q holds a control character", ErrInvalidConfig, p)
	case p == "/":
		cfg.CgroupParent = ""
	}
	return nil
}

// checkPodCgroup checks the pod cgroup a config asks for: none with a
// parent (whoever made the parent owns the pod's limits), and limits
// the host can take.
func checkPodCgroup(cfg container.Config) error {
	if !cfg.PodCgroup {
		if !isZeroResources(cfg.PodResources) {
			return fmt.Errorf("%w: pod resources need a pod cgroup", ErrInvalidConfig)
		}
		return nil
	}
	if cfg.CgroupParent != "" {
		return fmt.Errorf("%w: a pod cgroup or a cgroup parent (%s), not both", ErrInvalidConfig, cfg.CgroupParent)
	}
	res := resources(cfg.PodResources)
	if err := cgroups.Validate(&res); err != nil {
		return fmt.Errorf("%w: pod resources: %w", ErrInvalidConfig, err)
	}
	return nil
}

func isZeroResources(r container.Resources) bool {
	return r.Memory == 0 && r.NanoCPUs == 0 && r.PidsLimit == 0 && r.CPUShares == 0 && r.CpusetCpus == "" &&
		r.CpusetMems == "" && r.MemorySwap == 0 && len(r.Hugepages) == 0 && len(r.Unified) == 0
}

// makePodCgroup makes the pod cgroup of a container that asked for one
// (in every hierarchy, before its runtime puts the container in it, so
// that the runtime finds it made and leaves it) and writes its limits;
// one that exists gets them again.
func (e *Engine) makePodCgroup(c Container, cfg container.Config) error {
	if !cfg.PodCgroup {
		return nil
	}
	res := resources(cfg.PodResources)
	m, err := cgroups.New(cgroups.Config{Path: podCgroupPath(c.ID), Resources: &res})
	if err == nil {
		err = m.Apply(-1)
	}
	if err != nil {
		return fmt.Errorf("pod cgroup of %.12s: %w", c.ID, err)
	}
	return nil
}

// removePodCgroup removes the pod cgroup c's config asked for, with
// whatever is left in it (a runtime's leftover), once c goes.
func (e *Engine) removePodCgroup(c Container) {
	if cfg, err := ContainerConfig(c); err != nil || !cfg.PodCgroup {
		return
	}
	e.destroyCgroup(podCgroupPath(c.ID), c.ID)
}

// removeCgroup removes container c's own cgroup (and anything below
// it), never its parent: after a runtime that leaves it, or when its
// shim's state is gone (after a reboot there is none, but a state
// directory emptied without one, a tmpfs remounted, leaves it, and a
// runtime that finds it at the next start does not remove it at its
// end).
func (e *Engine) removeCgroup(c Container) {
	e.destroyCgroup(recordedCgroup(c), c.ID)
}

func (e *Engine) destroyCgroup(p, id string) {
	m, err := cgroups.New(cgroups.Config{Path: p})
	if err == nil {
		err = m.Destroy()
	}
	if err != nil {
		e.log.Warn("remove a container's cgroup", "id", id, "cgroup", p, "err", err)
	}
}
