package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/volumes"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Container is a container's record.
type Container = metadata.Container

// Container states.
const (
	StateCreated = "created"
	StateRunning = "running"
	StatePaused  = "paused"
	StateExited  = "exited"
)

// Errors callers branch on.
var (
	ErrContainerNotFound = errdefs.New(errdefs.ErrNotFound, "no such container")
	// ErrContainerRunning refuses what needs a stopped container.
	ErrContainerRunning = errdefs.New(errdefs.ErrFailedPrecondition, "container is running")
	// ErrNotRunning refuses what needs a running container.
	ErrNotRunning = errdefs.New(errdefs.ErrFailedPrecondition, "container is not running")
)

// paths of a container's parts.
func (e *Engine) bundleDir(ns, id string) string {
	return filepath.Join(e.cfg.State, "containers", ns, id)
}
func (e *Engine) logDir(ns, id string) string { return filepath.Join(e.cfg.Root, "containers", ns, id) }
func (e *Engine) logPath(ns, id string) string {
	return filepath.Join(e.logDir(ns, id), "container.log")
}

// shimDir is short: its socket's path must fit in a sockaddr_un.
func (e *Engine) shimDir(id string) string { return filepath.Join(e.cfg.State, "s", id[:16]) }

// CreateContainer makes a container of cfg.Image, which must be present
// and unpacked: an active snapshot of the image's layers, mounted as the
// root of a bundle whose spec comes from the image's config and cfg. A
// failure leaves nothing behind.
func (e *Engine) CreateContainer(ctx context.Context, ns string, cfg container.Config) (Container, error) {
	c, _, err := e.createContainer(ctx, ns, cfg, false)
	return c, err
}

// createContainer is CreateContainer; ahead starts the container's shim
// beside the creation (CreateContainerToStart).
func (e *Engine) createContainer(ctx context.Context, ns string, cfg container.Config, ahead bool) (_ Container, pre *Prestart, err error) {
	if err := e.checkConfig(&cfg); err != nil {
		return Container{}, nil, err
	}
	src, err := e.imageSource(ctx, ns, cfg)
	if err != nil {
		return Container{}, nil, err
	}
	id := newID()
	if cfg.PodCgroup {
		cfg.CgroupParent = podCgroupPath(id)
	}
	var release func()
	if cfg.Name == "" {
		cfg.Name, release = e.freeName(ctx, ns, id)
	} else {
		if err := metadata.ValidateContainerName(cfg.Name); err != nil {
			return Container{}, nil, err
		}
		var ok bool
		if release, ok = e.reserveName(ns, cfg.Name); !ok {
			return Container{}, nil, fmt.Errorf("%w: the container name %q is already in use by a container being created", errdefs.ErrAlreadyExists, cfg.Name)
		}
	}
	defer release()
	if other, err := e.containerByName(ctx, ns, cfg.Name); err == nil {
		return Container{}, nil, fmt.Errorf("%w: the container name %q is already in use by container %.12s", errdefs.ErrAlreadyExists, cfg.Name, other.ID)
	}
	if err := e.checkNetwork(ctx, ns, src.config, &cfg); err != nil {
		return Container{}, nil, err
	}
	if err := e.checkNamespaces(ctx, ns, &cfg); err != nil {
		return Container{}, nil, err
	}
	shimDir, err := e.checkShim(ctx, ns, &cfg, id)
	if err != nil {
		return Container{}, nil, err
	}
	imageViews, err := e.resolveImageMounts(ctx, ns, &cfg)
	if err != nil {
		return Container{}, nil, err
	}
	createdVols, err := e.attachVolumes(ctx, id, src.config, &cfg)
	if err != nil {
		return Container{}, nil, err
	}
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		e.detachVolumes(context.WithoutCancel(ctx), id, volumeNames(cfg.Mounts), createdVols)
		return Container{}, nil, fmt.Errorf("encode container config: %w", err)
	}
	c := Container{
		ID: id, Name: cfg.Name, Image: src.name, ImageID: src.id,
		ImageManifest: src.manifest, Config: rawCfg, Snapshotter: e.cfg.Snapshotter,
		Runtime: cfg.Runtime, Labels: cfg.Labels,
		StateDir: e.shimDir(id), ShimDir: shimDir, Status: metadata.ContainerStatus{State: StateCreated},
	}
	if src.parent != "" {
		c.SnapshotKey = "container-" + id
	}
	if ahead {
		pre = e.prestart(ns, c, cfg)
	}
	// No lease: the collector keeps active snapshots and views (and
	// their parents) whether or not a record names them, and a create
	// cut short by the engine's end leaves orphans that the next start
	// removes (removeOrphans).
	err = func() error {
		if src.parent != "" {
			sn, err := e.Snapshotter(ns)
			if err != nil {
				return err
			}
			if _, err := sn.Prepare(ctx, c.SnapshotKey, src.parent, nil); err != nil {
				return fmt.Errorf("prepare the container's snapshot: %w", err)
			}
			if err := e.prepareImageViews(ctx, sn, id, imageViews); err != nil {
				return err
			}
		}
		if c.Command, err = e.writeBundle(ctx, ns, c, cfg); err != nil {
			return err
		}
		if err := os.MkdirAll(e.logDir(ns, id), 0o700); err != nil {
			return fmt.Errorf("create log directory: %w", err)
		}
		c, err = e.meta.Containers().Create(ctx, ns, c)
		return err
	}()
	if err != nil {
		pre.Abort() // first: its shim goes before its state directory
		e.removeParts(context.WithoutCancel(ctx), ns, c, false)
		e.detachVolumes(context.WithoutCancel(ctx), id, nil, createdVols)
		return Container{}, nil, err
	}
	e.publishContainer(ns, "create", c, nil)
	return c, pre, nil
}

// checkConfig refuses what the engine does not do (yet) and unknown
// runtimes.
func (e *Engine) checkConfig(cfg *container.Config) error {
	switch {
	case cfg.Image == "" && cfg.Binary == "":
		return fmt.Errorf("%w: no image", ErrInvalidConfig)
	case cfg.Image != "" && cfg.Binary != "":
		return fmt.Errorf("%w: an image or a binary, not both", ErrInvalidConfig)
	case cfg.LogPath != "" && (!filepath.IsAbs(cfg.LogPath) || filepath.Clean(cfg.LogPath) != cfg.LogPath):
		return fmt.Errorf("%w: log path %q must be a clean absolute path", ErrInvalidConfig, cfg.LogPath)
	case !slices.Contains([]string{"", "no", "on-failure", "always", "unless-stopped"}, cfg.Restart.Name):
		return fmt.Errorf("%w: restart policy %q (want no, on-failure[:N], always or unless-stopped)", ErrInvalidConfig, cfg.Restart.Name)
	case cfg.Restart.MaxRetries < 0 || cfg.Restart.MaxRetries > 0 && cfg.Restart.Name != "on-failure":
		return fmt.Errorf("%w: a maximum retry count goes only with on-failure", ErrInvalidConfig)
	case cfg.AutoRemove && cfg.Restart.Name != "" && cfg.Restart.Name != "no":
		return fmt.Errorf("%w: --rm and a restart policy conflict", ErrInvalidConfig)
	}
	if cfg.Name != "" {
		if err := metadata.ValidateContainerName(strings.TrimPrefix(cfg.Name, "/")); err != nil {
			return err
		}
		cfg.Name = strings.TrimPrefix(cfg.Name, "/")
	}
	if cfg.Init {
		if _, err := e.reaperBinary(); err != nil {
			return fmt.Errorf("%w: --init: %w", ErrInvalidConfig, err)
		}
	}
	res := resources(cfg.Resources)
	if err := cgroups.Validate(&res); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := checkCgroupParent(cfg); err != nil {
		return err
	}
	if err := checkPodCgroup(*cfg); err != nil {
		return err
	}
	if _, err := oomScoreAdj(cfg.OOMScoreAdj); err != nil {
		return err
	}
	if err := checkLSM(*cfg); err != nil {
		return err
	}
	_, err := e.runtimeFor(cfg.Runtime)
	return err
}

// writeBundle mounts c's snapshot on the bundle's rootfs and writes its
// spec, unless there is one; it returns the spec's command line.
func (e *Engine) writeBundle(ctx context.Context, ns string, c Container, cfg container.Config) ([]string, error) {
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return nil, err
	}
	dir := e.bundleDir(ns, c.ID)
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o711); err != nil {
		return nil, fmt.Errorf("create bundle: %w", err)
	}
	if c.SnapshotKey == "" {
		return e.writeBinaryBundle(ctx, ns, c, cfg)
	}
	if !isMountpoint(rootfs) {
		mounts, err := sn.Mounts(ctx, c.SnapshotKey)
		if err != nil {
			return nil, fmt.Errorf("container snapshot: %w", err)
		}
		if err := mountContainerRoot(mounts, rootfs, cfg); err != nil {
			return nil, fmt.Errorf("mount the container's root: %w", err)
		}
	}
	if err := e.mountImageViews(ctx, ns, c, cfg); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return nil, nil
	}
	res, err := images.ResolveManifest(ctx, e.Content(ns), c.ImageManifest, platforms.Default())
	if err != nil {
		return nil, fmt.Errorf("image of container %.12s: %w", c.ID, err)
	}
	specCfg := cfg
	var copyUp map[string]string
	if specCfg.Mounts, copyUp, err = e.volumeBinds(ctx, cfg.Mounts); err != nil {
		return nil, err
	}
	if specCfg.Mounts, err = e.imageBinds(ns, c.ID, specCfg.Mounts); err != nil {
		return nil, err
	}
	for target, data := range copyUp {
		if err := volumes.CopyUp(ctx, data, rootfs, target); err != nil {
			return nil, err
		}
	}
	if err := relabelBinds(specCfg); err != nil {
		return nil, err
	}
	spec, err := containerSpec(c.ID, res.Config.Config, specCfg, rootfs)
	if err != nil {
		return nil, err
	}
	return e.writeSpec(ctx, ns, c.ID, cfg, spec)
}

// writeSpec completes spec with cfg's network, namespaces and init and
// writes it as the bundle's config.json; it returns the command line.
func (e *Engine) writeSpec(ctx context.Context, ns, id string, cfg container.Config, spec *specs.Spec) ([]string, error) {
	if err := e.networkSpec(ns, id, cfg, spec); err != nil {
		return nil, err
	}
	if err := e.namespaceSpec(ctx, ns, cfg, spec); err != nil {
		return nil, err
	}
	if err := e.userNSSpec(ctx, ns, cfg, spec); err != nil {
		return nil, err
	}
	if err := checkSysctls(spec); err != nil {
		return nil, err
	}
	if cfg.Init {
		if err := e.withReaper(spec); err != nil {
			return nil, err
		}
	}
	// The bundle's own rootfs is named relative to the bundle, as
	// runtimes expect; a shared root (writeBinaryBundle) keeps its path.
	if spec.Root.Path == filepath.Join(e.bundleDir(ns, id), "rootfs") {
		spec.Root.Path = "rootfs"
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return spec.Process.Args, writeFileAtomic(filepath.Join(e.bundleDir(ns, id), "config.json"), b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// isMountpoint says whether something is mounted on dir: its mount ID
// (or, where statx does not give one, its device) differs from its
// parent's. A bind mount of a directory of the same file system has
// the same device, so the mount ID decides.
func isMountpoint(dir string) bool {
	var a, b unix.Statx_t
	const mask = unix.STATX_MNT_ID | unix.STATX_BASIC_STATS
	if unix.Statx(unix.AT_FDCWD, dir, unix.AT_SYMLINK_NOFOLLOW, mask, &a) != nil ||
		unix.Statx(unix.AT_FDCWD, filepath.Dir(dir), unix.AT_SYMLINK_NOFOLLOW, mask, &b) != nil {
		return false
	}
	if a.Mask&b.Mask&unix.STATX_MNT_ID != 0 {
		return a.Mnt_id != b.Mnt_id
	}
	return a.Dev_major != b.Dev_major || a.Dev_minor != b.Dev_minor
}

// removeParts unmounts and removes a container's bundle, snapshot, logs
// and record, whichever exist, and releases its volumes, removing its
// anonymous ones if anonVolumes.
func (e *Engine) removeParts(ctx context.Context, ns string, c Container, anonVolumes bool) {
	e.teardownNetwork(ctx, ns, c)
	if err := e.unmountBundle(ns, c.ID); err != nil {
		e.log.Warn("unmount container root", "id", c.ID, "err", err)
	}
	e.removeSnapshot(ctx, ns, c)
	e.removeDirs(ns, c)
	e.removeRecord(ctx, ns, c, anonVolumes)
}

// removeSnapshot removes a container's snapshot, its root unmounted.
func (e *Engine) removeSnapshot(ctx context.Context, ns string, c Container) {
	if sn, err := e.Snapshotter(ns); err == nil && c.SnapshotKey != "" {
		e.removeSnapshotKey(ctx, sn, c.ID, c.SnapshotKey)
		e.removeImageViews(ctx, sn, c)
	}
}

// removeDirs removes a container's bundle and log directories.
func (e *Engine) removeDirs(ns string, c Container) {
	for _, d := range []string{e.bundleDir(ns, c.ID), e.logDir(ns, c.ID)} {
		if err := os.RemoveAll(d); err != nil {
			e.log.Warn("remove container directory", "dir", d, "err", err)
		}
	}
}

// removeRecord removes a container's record and releases its volumes,
// removing its anonymous ones if anonVolumes.
func (e *Engine) removeRecord(ctx context.Context, ns string, c Container, anonVolumes bool) {
	if err := e.meta.Containers().Delete(ctx, ns, c.ID); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		e.log.Warn("remove container record", "id", c.ID, "err", err)
	}
	e.releaseHeld(ctx, c, anonVolumes)
}

// releaseHeld releases what a removed container held: its volumes
// (removing its anonymous ones if anonVolumes) and its pod's cgroup.
func (e *Engine) releaseHeld(ctx context.Context, c Container, anonVolumes bool) {
	e.releaseVolumes(ctx, c, anonVolumes)
	e.removePodCgroup(c)
}

// RemoveOptions say how RemoveContainer removes a container.
type RemoveOptions struct {
	// Force kills a running container first.
	Force bool
	// Volumes removes the container's anonymous volumes (`rm -v`).
	Volumes bool
}

// RemoveContainer removes a container and everything it holds; a running
// one only with opts.Force (it is killed first). Its volumes are
// released; its anonymous ones removed with opts.Volumes.
func (e *Engine) RemoveContainer(ctx context.Context, ns, ref string, opts RemoveOptions) error {
	force := opts.Force
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	if deps, err := e.netnsSharers(ctx, ns, c.ID); err != nil {
		return err
	} else if len(deps) > 0 {
		return fmt.Errorf("%w: %s: container(s) %s share its network namespace (--network container:); remove them first", errdefs.ErrConflict, c.Name, strings.Join(deps, ", "))
	}
	unlock := e.lockContainer(ns, c.ID)
	defer func() { unlock() }()
	if t := e.task(ns, c.ID); t != nil {
		if !force {
			return fmt.Errorf("%w: %s: stop it first or remove it with force", ErrContainerRunning, c.Name)
		}
		unlock()
		e.markStopped(ctx, ns, c.ID) // no restart policy brings it back
		unlock = e.lockContainer(ns, c.ID)
		killErr := t.kill(ctx, unix.SIGKILL)
		unlock()
		if err := awaitKilled(ctx, c.ID, t, killErr); err != nil {
			unlock = func() {} // released above
			return err
		}
		unlock = e.lockContainer(ns, c.ID)
		if _, err := e.meta.Containers().Get(ctx, ns, c.ID); errors.Is(err, errdefs.ErrNotFound) {
			return nil
		}
	}
	e.removeParts(context.WithoutCancel(ctx), ns, c, opts.Volumes)
	e.publishContainer(ns, "delete", c, nil)
	return nil
}

// netnsSharers names ns's containers created with --network
// container:ID.
func (e *Engine) netnsSharers(ctx context.Context, ns, id string) ([]string, error) {
	list, err := e.meta.Containers().List(ctx, ns)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range list {
		if kind, other := netMode(configOf(o)); kind == modeContainer && other == id {
			out = append(out, o.Name)
		}
	}
	return out, nil
}

// Containers lists ns's containers, only those running unless all.
func (e *Engine) Containers(ctx context.Context, ns string, all bool) ([]Container, error) {
	list, err := e.meta.Containers().List(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, c := range list {
		if all || c.Status.State == StateRunning || c.Status.State == StatePaused {
			out = append(out, c)
		}
	}
	return out, nil
}

// Container finds a container by ID, name or unique ID prefix.
func (e *Engine) Container(ctx context.Context, ns, ref string) (Container, error) {
	ref = strings.TrimPrefix(ref, "/")
	if c, err := e.meta.Containers().Get(ctx, ns, ref); err == nil {
		return c, nil
	}
	// A name before an ID prefix, as Docker resolves them.
	if c, err := e.meta.Containers().GetByName(ctx, ns, ref); err == nil {
		return c, nil
	}
	list, err := e.meta.Containers().List(ctx, ns)
	if err != nil {
		return Container{}, err
	}
	var found []Container
	for _, c := range list {
		if c.Name == ref {
			return c, nil
		}
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Container{}, fmt.Errorf("%w: %s", ErrContainerNotFound, ref)
	}
	return Container{}, fmt.Errorf("%w: %s matches %d containers; give more of the ID", errdefs.ErrInvalidArgument, ref, len(found))
}

func (e *Engine) containerByName(ctx context.Context, ns, name string) (Container, error) {
	c, err := e.meta.Containers().GetByName(ctx, ns, name)
	if errors.Is(err, metadata.ErrNotFound) {
		return Container{}, ErrContainerNotFound
	}
	return c, err
}

// ContainerConfig decodes the configuration c was created with.
func ContainerConfig(c Container) (container.Config, error) {
	var cfg container.Config
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return cfg, fmt.Errorf("container %.12s: decode config: %w", c.ID, err)
	}
	return cfg, nil
}

// Rename gives a container a new name.
func (e *Engine) Rename(ctx context.Context, ns, ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if err := metadata.ValidateContainerName(name); err != nil {
		return err
	}
	c, unlock, err := e.lockedContainer(ctx, ns, ref)
	if err != nil {
		return err
	}
	defer unlock()
	old := c.Name
	c.Name = name
	if c, err = e.meta.Containers().Update(ctx, ns, c); err != nil {
		return err
	}
	e.publishContainer(ns, "rename", c, map[string]string{"oldName": old})
	return nil
}

// awaitKilled waits for t to end after a SIGKILL. A kill that failed
// is an error only if the task does not end within killWait: a container
// that exited since it was looked up is no longer running for its
// runtime, and its watcher records the exit all the same.
func awaitKilled(ctx context.Context, id string, t *task, killErr error) error {
	if killErr == nil {
		<-t.done // the watcher records the exit (and may auto-remove)
		return nil
	}
	timer := time.NewTimer(killWait)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("kill container %.12s: %w", id, killErr)
	}
}

func (e *Engine) publishContainer(ns, action string, c Container, extra map[string]string) {
	attrs := map[string]string{"id": c.ID, "name": c.Name, "image": c.Image}
	for k, v := range extra {
		attrs[k] = v
	}
	e.events.Publish(ns, events.TopicContainers, action, attrs)
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	nameLeft  = []string{"brave", "calm", "eager", "fond", "keen", "lucid", "merry", "nimble", "quiet", "sharp", "swift", "wise"}
	nameRight = []string{"anchor", "beacon", "cove", "dock", "harbor", "jetty", "keel", "mast", "pier", "quay", "sail", "wharf"}
)

// freeName picks and reserves (see reserveName) an "adjective_noun" name
// not in use, or falls back to a name made from the container's ID.
func (e *Engine) freeName(ctx context.Context, ns, id string) (string, func()) {
	b := make([]byte, 2)
	for range 8 {
		_, _ = rand.Read(b)
		name := nameLeft[int(b[0])%len(nameLeft)] + "_" + nameRight[int(b[1])%len(nameRight)]
		if _, err := e.containerByName(ctx, ns, name); err == nil {
			continue
		}
		if release, ok := e.reserveName(ns, name); ok {
			return name, release
		}
	}
	name := "berth_" + id[:12]
	if release, ok := e.reserveName(ns, name); ok {
		return name, release
	}
	return name, func() {} // IDs are unique: nothing else holds it
}

// reserveName holds name in ns for a create in flight, so that two
// creates cannot both find it free; ok is false when another holds it.
func (e *Engine) reserveName(ns, name string) (release func(), ok bool) {
	key := ns + "/" + name
	e.ctrMu.Lock()
	defer e.ctrMu.Unlock()
	if e.creating[key] {
		return nil, false
	}
	e.creating[key] = true
	return func() {
		e.ctrMu.Lock()
		delete(e.creating, key)
		e.ctrMu.Unlock()
	}, true
}

// lockedContainer resolves ref, takes its container's lock and reads
// its record again under it, so that what the caller changes and saves
// is current. The caller unlocks.
func (e *Engine) lockedContainer(ctx context.Context, ns, ref string) (Container, func(), error) {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return Container{}, nil, err
	}
	unlock := e.lockContainer(ns, c.ID)
	if c, err = e.meta.Containers().Get(ctx, ns, c.ID); err != nil {
		unlock()
		return Container{}, nil, err
	}
	return c, unlock, nil
}

// lockContainer serialises lifecycle changes of one container.
func (e *Engine) lockContainer(ns, id string) (unlock func()) {
	e.ctrMu.Lock()
	l, ok := e.ctrLocks[ns+"/"+id]
	if !ok {
		l = &ctrLock{}
		e.ctrLocks[ns+"/"+id] = l
	}
	e.ctrMu.Unlock()
	l.Lock()
	once := false
	return func() {
		if !once {
			once = true
			l.Unlock()
		}
	}
}

// timeNow is the time records are stamped with.
func timeNow() time.Time { return time.Now().UTC() }

// ReaperPath is where a container run with init finds berth-reaper, its
// PID 1 (Docker's is /sbin/docker-init).
const ReaperPath = "/sbin/berth-reaper"

// withReaper bind-mounts berth-reaper read-only into spec's container and
// makes it PID 1, running the command as its child.
func (e *Engine) withReaper(spec *specs.Spec) error {
	bin, err := e.reaperBinary()
	if err != nil {
		return fmt.Errorf("%w: --init: %w", ErrInvalidConfig, err)
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{Type: "bind", Source: bin, Destination: ReaperPath, Options: []string{"bind", "ro", "nosuid", "nodev"}})
	spec.Process.Args = append([]string{ReaperPath, "--"}, spec.Process.Args...)
	return nil
}
