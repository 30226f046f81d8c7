package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/sysctl"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// UserNamespaces reports whether the named runtime ("" the default) can
// run containers in user namespaces: its `features` list the user
// namespace and idmapped mounts.
func (e *Engine) UserNamespaces(runtime string) bool {
	f := e.runtimeFeatures(runtime)
	return f != nil && f.Linux != nil &&
		slices.Contains(f.Linux.Namespaces, "user") &&
		f.Linux.MountExtensions != nil && f.Linux.MountExtensions.IDMap != nil &&
		f.Linux.MountExtensions.IDMap.Enabled != nil && *f.Linux.MountExtensions.IDMap.Enabled
}

// RecursiveReadOnlyMounts reports whether the named runtime makes
// recursively read-only mounts: its `features` list the "rro" option.
func (e *Engine) RecursiveReadOnlyMounts(runtime string) bool {
	f := e.runtimeFeatures(runtime)
	return f != nil && slices.Contains(f.MountOptions, "rro")
}

// runtimeFeatures caches, per runtime binary and arguments, what the
// runtime's `features` command says; nil when it says nothing readable.
var featuresCache sync.Map

func (e *Engine) runtimeFeatures(runtime string) *features.Features {
	rt, err := e.runtimeFor(runtime)
	if err != nil {
		return nil
	}
	key := strings.Join(append([]string{rt.path}, rt.args...), "\x00")
	if v, ok := featuresCache.Load(key); ok {
		return v.(*features.Features)
	}
	var f *features.Features
	out, err := exec.Command(rt.path, append(slices.Clone(rt.args), "features")...).Output()
	if err == nil && json.Unmarshal(out, &f) != nil {
		f = nil
	}
	featuresCache.Store(key, f)
	return f
}

// checkUserNS validates cfg's user namespace at create time: mappings
// the kernel takes, a runtime that supports them, and for
// container:NAME a running container with a user namespace, whose
// mappings cfg gets (or must repeat); NAME becomes the ID.
func (e *Engine) checkUserNS(ctx context.Context, ns string, cfg *container.Config) error {
	if cfg.UserNSMode == "" && len(cfg.UIDMappings) == 0 && len(cfg.GIDMappings) == 0 {
		return nil
	}
	if cfg.UserNSMode != "" {
		ref, ok := strings.CutPrefix(cfg.UserNSMode, "container:")
		if !ok {
			return fmt.Errorf("%w: user namespace mode %q (want container:ID)", ErrInvalidConfig, cfg.UserNSMode)
		}
		other, err := e.Container(ctx, ns, ref)
		if err != nil {
			return fmt.Errorf("%w: user namespace of container %s: %w", ErrInvalidConfig, ref, err)
		}
		oc := configOf(other)
		if len(oc.UIDMappings) == 0 {
			return fmt.Errorf("%w: container %.12s has no user namespace of its own to join", ErrInvalidConfig, other.ID)
		}
		if len(cfg.UIDMappings) == 0 && len(cfg.GIDMappings) == 0 {
			cfg.UIDMappings, cfg.GIDMappings = oc.UIDMappings, oc.GIDMappings
		}
		if !slices.Equal(cfg.UIDMappings, oc.UIDMappings) || !slices.Equal(cfg.GIDMappings, oc.GIDMappings) {
			return fmt.Errorf("%w: the mappings differ from those of the user namespace of container %.12s", ErrInvalidConfig, other.ID)
		}
		cfg.UserNSMode = "container:" + other.ID
	}
	if err := checkIDMappings("uid", cfg.UIDMappings); err != nil {
		return err
	}
	if err := checkIDMappings("gid", cfg.GIDMappings); err != nil {
		return err
	}
	if !e.UserNamespaces(cfg.Runtime) {
		return fmt.Errorf("%w: runtime %q does not support user namespaces with idmapped mounts", ErrInvalidConfig, cfg.Runtime)
	}
	return nil
}

// checkIDMappings refuses no mappings, empty or overflowing ranges, and
// ranges that overlap on either side.
func checkIDMappings(kind string, ms []container.IDMapping) error {
	if len(ms) == 0 {
		return fmt.Errorf("%w: a user namespace needs %s mappings", ErrInvalidConfig, kind)
	}
	for i, m := range ms {
		if m.Size == 0 {
			return fmt.Errorf("%w: %s mapping %d has length 0", ErrInvalidConfig, kind, i)
		}
		if uint64(m.HostID)+uint64(m.Size) > math.MaxUint32 || uint64(m.ContainerID)+uint64(m.Size) > math.MaxUint32 {
			return fmt.Errorf("%w: %s mapping %d (%d→%d, length %d) overflows the id space", ErrInvalidConfig, kind, i, m.ContainerID, m.HostID, m.Size)
		}
		for _, o := range ms[:i] {
			if overlaps(m.HostID, o.HostID, m.Size, o.Size) || overlaps(m.ContainerID, o.ContainerID, m.Size, o.Size) {
				return fmt.Errorf("%w: %s mappings %d→%d and %d→%d overlap", ErrInvalidConfig, kind, o.ContainerID, o.HostID, m.ContainerID, m.HostID)
			}
		}
	}
	return nil
}

func overlaps(a, b, alen, blen uint32) bool {
	return uint64(a) < uint64(b)+uint64(blen) && uint64(b) < uint64(a)+uint64(alen)
}

// userNSSpec puts the container in its user namespace: a new one with
// cfg's mappings, or the running container's it joins (the mappings
// repeated, as runtimes want them).
func (e *Engine) userNSSpec(ctx context.Context, ns string, cfg container.Config, spec *specs.Spec) error {
	if len(cfg.UIDMappings) == 0 {
		return nil
	}
	spec.Linux.UIDMappings, spec.Linux.GIDMappings = specIDMappings(cfg.UIDMappings), specIDMappings(cfg.GIDMappings)
	spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace })
	userns := specs.LinuxNamespace{Type: specs.UserNamespace}
	if id, ok := strings.CutPrefix(cfg.UserNSMode, "container:"); ok {
		pid, err := e.runningPid(ctx, ns, id)
		if err != nil {
			return fmt.Errorf("user namespace of container %.12s: %w", id, err)
		}
		userns.Path = fmt.Sprintf("/proc/%d/ns/user", pid)
	}
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, userns)
	return nil
}

func specIDMappings(ms []container.IDMapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, len(ms))
	for i, m := range ms {
		out[i] = specs.LinuxIDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size}
	}
	return out
}

// prepareUserNS readies the start of a container in a user namespace:
// its bundle must be reachable from there, and its net.* sysctls set.
func (e *Engine) prepareUserNS(ns, id string, cfg container.Config) error {
	if len(cfg.UIDMappings) == 0 {
		return nil
	}
	if err := searchable(e.bundleDir(ns, id)); err != nil {
		return err
	}
	return e.userNSNetSysctls(ns, id, cfg)
}

// searchable checks that every directory down to dir may be searched by
// anyone: the runtime's init, already in the user namespace, binds the
// root by its path, as the mapped root, which is no one on the host
// (runc asks the same; the engine makes its directories 0711).
func searchable(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%w: %s (mode %v) is not searchable by others; a user namespace's root cannot reach the container's root below it", errdefs.ErrFailedPrecondition, d, fi.Mode().Perm())
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// userNSNetSysctls sets the net.* sysctls of a container with a user
// namespace and a network namespace of its own from the host, before the
// runtime starts it: that namespace is made by the engine, so it belongs
// to the host's user namespace, whose root alone may write its sysctls.
// The runtime finds them set and leaves them (sysctl.Apply).
func (e *Engine) userNSNetSysctls(ns, id string, cfg container.Config) error {
	net := netSysctls(cfg.Sysctls)
	if len(cfg.UIDMappings) == 0 || len(net) == 0 {
		return nil
	}
	if kind, _ := netMode(cfg); kind != modeCNI {
		return nil
	}
	m, err := e.cni()
	if err != nil {
		return err
	}
	path, err := netns.Path(m.NetnsDir(), id)
	if err != nil {
		return err
	}
	err = netns.Do(path, func() error { return sysctl.Apply(net, sysctl.Namespaces{Net: true}) })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// chownToMappedRoot gives the named files in dir to the host IDs that
// cfg's user namespace maps its root to, so that they are root's in the
// container rather than nobody's (berthd's /etc files of a pod with its
// own user namespace, as containerd gives them). Without a user
// namespace, or with root unmapped, it does nothing.
func chownToMappedRoot(dir string, cfg container.Config, names ...string) error {
	uid, uok := mappedRoot(cfg.UIDMappings)
	gid, gok := mappedRoot(cfg.GIDMappings)
	if !uok || !gok {
		return nil
	}
	for _, n := range names {
		if err := os.Lchown(filepath.Join(dir, n), int(uid), int(gid)); err != nil {
			return fmt.Errorf("give %s to the user namespace's root: %w", n, err)
		}
	}
	return nil
}

// mappedRoot is the host ID that ms map ID 0 to.
func mappedRoot(ms []container.IDMapping) (uint32, bool) {
	for _, m := range ms {
		if m.ContainerID == 0 && m.Size > 0 {
			return m.HostID, true
		}
	}
	return 0, false
}
