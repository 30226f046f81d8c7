package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/snapshot"
	"golang.org/x/sys/unix"
)

// Image mounts: a container's mount of type "image" is a read-only view
// snapshot of the image's layers (key imageViewKey), made with the
// container, mounted on <bundle>/image-mounts/N while the bundle is and
// bind-mounted (its SubPath, resolved inside the image) read-only into
// the container; it goes with the container.

// imageMountsDir is where a container's image views are mounted.
func (e *Engine) imageMountsDir(ns, id string) string {
	return filepath.Join(e.bundleDir(ns, id), "image-mounts")
}

// imageViewKey names the view snapshot of a container's n-th image mount.
func imageViewKey(id string, n int) string { return "container-" + id + "-image-" + strconv.Itoa(n) }

// resolveImageMounts checks cfg's image mounts, records each one's image
// ID as its source and returns the chain ID of each one's top layer, in
// order.
func (e *Engine) resolveImageMounts(ctx context.Context, ns string, cfg *container.Config) ([]string, error) {
	var parents []string
	for i, m := range cfg.Mounts {
		if m.Type != "image" {
			if m.SubPath != "" {
				return nil, fmt.Errorf("%w: mount %s: a sub-path goes only with an image mount", ErrInvalidConfig, m.Target)
			}
			continue
		}
		if cfg.Binary != "" {
			return nil, fmt.Errorf("%w: image mounts need a container of an image", ErrInvalidConfig)
		}
		if err := checkSubPath(m.SubPath); err != nil {
			return nil, fmt.Errorf("%w: image mount %s: %w", ErrInvalidConfig, m.Target, err)
		}
		img, err := e.Lookup(ctx, ns, m.Source)
		if err != nil {
			return nil, fmt.Errorf("image mount %s: %w", m.Target, err)
		}
		res, err := images.ResolveManifest(ctx, e.Content(ns), img.Target, platforms.Default())
		if err != nil {
			return nil, fmt.Errorf("image mount %s: image %s: %w", m.Target, m.Source, err)
		}
		if len(res.Config.RootFS.DiffIDs) == 0 {
			return nil, fmt.Errorf("%w: image mount %s: image %s has no layers", images.ErrInvalid, m.Target, m.Source)
		}
		chain := images.ChainIDs(res.Config.RootFS.DiffIDs)
		parents = append(parents, chain[len(chain)-1].String())
		cfg.Mounts[i].Source, cfg.Mounts[i].ReadOnly = res.ManifestBody.Config.Digest.String(), true
	}
	return parents, nil
}

// checkSubPath wants a relative path without "..".
func checkSubPath(p string) error {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) || strings.Contains(p, "\x00") || len(p) > 4096 {
		return fmt.Errorf("sub-path %q must be a relative path", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return fmt.Errorf("sub-path %q must not go up (..)", p)
		}
	}
	return nil
}

// prepareImageViews makes the view snapshots of container id's image
// mounts on parents.
func (e *Engine) prepareImageViews(ctx context.Context, sn snapshot.Snapshotter, id string, parents []string) error {
	for n, p := range parents {
		if _, err := sn.View(ctx, imageViewKey(id, n), p, nil); err != nil {
			return fmt.Errorf("prepare an image mount's snapshot: %w", err)
		}
	}
	return nil
}

// mountImageViews mounts c's image views on their directories (those
// not mounted yet).
func (e *Engine) mountImageViews(ctx context.Context, ns string, c Container, cfg container.Config) error {
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return err
	}
	n := 0
	for _, m := range cfg.Mounts {
		if m.Type != "image" {
			continue
		}
		dir := filepath.Join(e.imageMountsDir(ns, c.ID), strconv.Itoa(n))
		key := imageViewKey(c.ID, n)
		n++
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create image mount point: %w", err)
		}
		if isMountpoint(dir) {
			continue
		}
		mounts, err := sn.Mounts(ctx, key)
		if err != nil {
			return fmt.Errorf("image mount %s: %w", m.Target, err)
		}
		// In a user namespace the view's files are its root's, as the
		// container's own root's are (mountRoot).
		if err := mountRoot(mounts, dir, cfg); err != nil {
			return fmt.Errorf("image mount %s: %w", m.Target, err)
		}
	}
	return nil
}

// imageBinds turns image mounts into read-only binds of their mounted
// views (their sub-paths resolved inside the image).
func (e *Engine) imageBinds(ns, id string, ms []container.Mount) ([]container.Mount, error) {
	out := make([]container.Mount, 0, len(ms))
	n := 0
	for _, m := range ms {
		if m.Type != "image" {
			out = append(out, m)
			continue
		}
		src, err := resolveInRoot(filepath.Join(e.imageMountsDir(ns, id), strconv.Itoa(n)), m.SubPath)
		n++
		if err != nil {
			return nil, fmt.Errorf("%w: image mount %s: %w", ErrInvalidConfig, m.Target, err)
		}
		out = append(out, container.Mount{Type: "bind", Source: src, Target: m.Target, ReadOnly: true, Options: m.Options})
	}
	return out, nil
}

// resolveInRoot resolves sub inside root (symlinks cannot leave it) and
// returns the host path it names.
func resolveInRoot(root, sub string) (string, error) {
	if sub == "" {
		return root, nil
	}
	dir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer dir.Close()
	f, err := archive.OpenInRoot(dir, sub)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sub-path %q does not exist in the image", sub)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", fmt.Errorf("resolve sub-path %q: %w", sub, err)
	}
	if p != root && !strings.HasPrefix(p, root+"/") {
		return "", fmt.Errorf("sub-path %q resolves outside the image (%s)", sub, p)
	}
	return p, nil
}

// unmountBundle unmounts a container's root and image views.
func (e *Engine) unmountBundle(ns, id string) error {
	err := mount.UnmountAll(filepath.Join(e.bundleDir(ns, id), "rootfs"))
	ents, _ := os.ReadDir(e.imageMountsDir(ns, id))
	for _, ent := range ents {
		err = errors.Join(err, mount.UnmountAll(filepath.Join(e.imageMountsDir(ns, id), ent.Name())))
	}
	return err
}

// removeImageViews removes c's image view snapshots (unmounted).
func (e *Engine) removeImageViews(ctx context.Context, sn snapshot.Snapshotter, c Container) {
	cfg, err := ContainerConfig(c)
	if err != nil {
		return
	}
	n := 0
	for _, m := range cfg.Mounts {
		if m.Type == "image" {
			e.removeSnapshotKey(ctx, sn, c.ID, imageViewKey(c.ID, n))
			n++
		}
	}
}

// removeSnapshotKey removes one of container id's snapshots.
func (e *Engine) removeSnapshotKey(ctx context.Context, sn snapshot.Snapshotter, id, key string) {
	if err := sn.Remove(ctx, key); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		e.log.Warn("remove container snapshot", "id", id, "key", key, "err", err)
	}
}
