package engine

import (
	"context"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/errdefs"
)

// Usage is everything a running container's usage is read from: its
// cgroup's counters, its processes, and its writable layer and the
// filesystem under it. It feeds the CRI's pod stats and metrics.
type Usage struct {
	Container Container
	Stats     *cgroups.Stats
	// Pids are the host pids of the container's processes.
	Pids []int
	// LayerBytes and LayerInodes are the writable layer's use.
	LayerBytes, LayerInodes uint64
	// FS is the filesystem holding the writable layer (statfs of the
	// rootfs mount).
	FS unix.Statfs_t
	// OOMKills counts the processes the OOM killer killed in the
	// cgroup.
	OOMKills uint64
	// CPUPeriod is the CFS period of the container's quota: always the
	// kernel's default, 100 ms (containerSpec sets no other).
	CPUPeriod uint64
}

// ContainerUsage reads a running container's Usage from its cgroup
// (/berth-<id>), its snapshot and its mounted rootfs; a container that
// does not run is FailedPrecondition.
func (e *Engine) ContainerUsage(ctx context.Context, ns, ref string) (Usage, error) {
	c, _, err := e.running(ctx, ns, ref)
	if err != nil {
		return Usage{}, err
	}
	u, cg, err := cgroupUsage(c, recordedCgroup(c), "")
	if err != nil {
		return Usage{}, err
	}
	u.OOMKills, _ = cg.OOMKillCount() // unsupported without the memory controller: none
	if sn, err := e.Snapshotter(ns); err == nil && c.SnapshotKey != "" {
		if su, err := sn.Usage(ctx, c.SnapshotKey); err == nil {
			u.LayerBytes, u.LayerInodes = uint64(max(su.Size, 0)), uint64(max(su.Inodes, 0))
		}
	}
	_ = unix.Statfs(filepath.Join(e.bundleDir(ns, c.ID), "rootfs"), &u.FS)
	return u, nil
}

// PodUsage reads the cgroup that holds sandbox ref's pod: its cgroup
// parent, which is the pod cgroup the engine made for it
// (container.Config.PodCgroup) or a kubelet's. The counters there are
// hierarchical: the sandbox, every container of the pod, and what the
// pod cgroup itself holds. Only Container, Stats, Pids and CPUPeriod
// are set. A sandbox that does not run is FailedPrecondition; one
// without a parent cgroup is NotFound.
func (e *Engine) PodUsage(ctx context.Context, ns, ref string) (Usage, error) {
	c, _, err := e.running(ctx, ns, ref)
	if err != nil {
		return Usage{}, err
	}
	cfg, err := ContainerConfig(c)
	if err != nil {
		return Usage{}, err
	}
	if cfg.CgroupParent == "" {
		return Usage{}, fmt.Errorf("%w: %.12s has no pod cgroup", errdefs.ErrNotFound, c.ID)
	}
	u, _, err := cgroupUsage(c, cfg.CgroupParent, "pod ")
	return u, err
}

// cgroupUsage reads the counters and processes of cgroup path for c's
// Usage; what names it in errors ("" or "pod ").
func cgroupUsage(c Container, path, what string) (Usage, cgroups.Manager, error) {
	cg, err := cgroups.New(cgroups.Config{Path: path})
	if err != nil {
		return Usage{}, nil, fmt.Errorf("%scgroup of %.12s: %w", what, c.ID, err)
	}
	u := Usage{Container: c, CPUPeriod: 100000}
	if u.Stats, err = cg.Stats(); err != nil {
		return Usage{}, nil, fmt.Errorf("stats of %s%.12s: %w", what, c.ID, err)
	}
	if u.Pids, err = cg.Pids(); err != nil {
		return Usage{}, nil, fmt.Errorf("processes of %s%.12s: %w", what, c.ID, err)
	}
	return u, cg, nil
}
