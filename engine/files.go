package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/mount"
)

// rootUse is what withRoot gives a container's root for.
type rootUse int

const (
	// useCopy is a copy to or from a path: in a running container's
	// view, with its mounts; refused at or under a mount of a stopped one.
	useCopy rootUse = iota
	// useStat is a path's stat: as useCopy, but a stopped container's
	// mount point itself gets errMountPoint.
	useStat
	// useExport is the container's root filesystem alone, no mounts.
	useExport
)

// withRoot calls fn with the root of container ref for use on path p.
// A running (or paused) container's root is the one its processes see,
// with its volumes, binds and tmpfs mounts (see openView); every path is
// still resolved inside that root, so no symlink or ".." there leads to
// the host. Otherwise (or for useExport) it is the container's root
// filesystem alone: its bundle's rootfs while that is mounted, else its
// snapshot mounted on a temporary directory, under the container's lock
// so that it does not start meanwhile; then a path at or under one of
// its mounts (volumes, binds and tmpfs are mounted only in a running
// container's view) is refused as not implemented rather than read from
// or written beneath the mount point.
func (e *Engine) withRoot(ctx context.Context, ns, ref, p string, use rootUse, fn func(root *os.File) error) error {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	unlock := e.lockContainer(ns, c.ID)
	defer unlock()
	if c, err = e.meta.Containers().Get(ctx, ns, c.ID); err != nil {
		return err // the record as of now, under the lock
	}
	if use != useExport && e.task(ns, c.ID) != nil && c.Status.Pid > 0 {
		v, err := e.openView(ns, c)
		if err == nil {
			defer v.Close()
			unlock()
			return fn(v.root)
		}
		if !errors.Is(err, os.ErrProcessDone) {
			return err
		}
		// It has just stopped: its root filesystem alone.
	}
	if use != useExport {
		if err := refuseMounts(c, p, use); err != nil {
			return err
		}
	}
	rootfs := filepath.Join(e.bundleDir(ns, c.ID), "rootfs")
	if isMountpoint(rootfs) {
		// An open handle keeps a root that is unmounted meanwhile alive.
		root, err := os.Open(rootfs)
		if err != nil {
			return fmt.Errorf("container %.12s root: %w", c.ID, err)
		}
		defer root.Close()
		unlock()
		return fn(root)
	}
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return err
	}
	mounts, err := sn.Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return fmt.Errorf("container %.12s snapshot: %w", c.ID, err)
	}
	return mount.WithTempMount(mounts, func(dir string) error {
		root, err := os.Open(dir)
		if err != nil {
			return fmt.Errorf("container %.12s root: %w", c.ID, err)
		}
		defer root.Close()
		return fn(root)
	})
}

// errMountPoint is refuseMounts' answer to the stat of a stopped
// container's mount point.
var errMountPoint = errors.New("a mount point of a stopped container")

// refuseMounts refuses path p of a container that does not run when it
// is at or under one of its mounts; the stat of a mount point itself
// gets errMountPoint.
func refuseMounts(c Container, p string, use rootUse) error {
	cfg, err := ContainerConfig(c)
	if err != nil {
		return err
	}
	clean := path.Clean("/" + p)
	for _, m := range cfg.Mounts {
		t := path.Clean("/" + m.Target)
		switch {
		case clean == t && use == useStat:
			return errMountPoint
		case clean == t || strings.HasPrefix(clean, strings.TrimSuffix(t, "/")+"/"):
			return errdefs.New(errdefs.ErrNotImplemented, fmt.Sprintf("berthd copies to or from the container's mount %s only while the container runs", t))
		}
	}
	return nil
}

// CopyFromContainer returns a tar of path in container ref and what path
// names, with `docker cp`'s rules (see archive.CopyOut), in the
// container's view (see withRoot). It works for every container that
// has a record, running or not; closing the reader stops the copy.
func (e *Engine) CopyFromContainer(ctx context.Context, ns, ref, path string) (io.ReadCloser, archive.PathStat, error) {
	return e.copyOut(ctx, ns, ref, path, useCopy)
}

// ExportContainer returns a tar of container ref's root filesystem, its
// mounts left out, running or not (`docker export`).
func (e *Engine) ExportContainer(ctx context.Context, ns, ref string) (io.ReadCloser, error) {
	rc, _, err := e.copyOut(ctx, ns, ref, "/.", useExport)
	return rc, err
}

// StatContainerPath describes path in container ref as
// CopyFromContainer would, without reading it. A stopped container's
// mount point, which its root filesystem may not even hold, is described
// as a directory (so that the Docker CLI's copy into it, which asks for
// its stat first, meets the copy's refusal with its message: a stat's
// HEAD has no body); a path under it is refused as the copy is.
func (e *Engine) StatContainerPath(ctx context.Context, ns, ref, p string) (archive.PathStat, error) {
	var st archive.PathStat
	err := e.withRoot(ctx, ns, ref, p, useStat, func(root *os.File) error {
		var err error
		st, err = archive.StatAt(root, p)
		return err
	})
	if errors.Is(err, errMountPoint) {
		return archive.PathStat{Name: path.Base(path.Clean("/" + p)), Mode: os.ModeDir | 0o755}, nil
	}
	return st, err
}

func (e *Engine) copyOut(ctx context.Context, ns, ref, path string, use rootUse) (io.ReadCloser, archive.PathStat, error) {
	type opened struct {
		st  archive.PathStat
		err error
	}
	ready := make(chan opened, 1)
	pr, pw := io.Pipe()
	go func() {
		sent := false
		err := e.withRoot(ctx, ns, ref, path, use, func(root *os.File) error {
			rc, st, err := archive.CopyOutAt(ctx, root, path)
			ready <- opened{st, err}
			sent = true
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(pw, rc)
			return err
		})
		pw.CloseWithError(err)
		if !sent {
			ready <- opened{err: err}
		}
	}()
	o := <-ready
	if o.err != nil {
		pr.Close()
		return nil, archive.PathStat{}, o.err
	}
	return pr, o.st, nil
}

// CopyToContainer unpacks the tar r to dst in container ref with `docker
// cp`'s rules (see archive.CopyIn), in the container's view (see
// withRoot); files belong to the container's root unless
// opts.CopyUIDGID.
func (e *Engine) CopyToContainer(ctx context.Context, ns, ref, dst string, r io.Reader, opts archive.CopyInOptions) error {
	return e.withRoot(ctx, ns, ref, dst, useCopy, func(root *os.File) error {
		return archive.CopyInAt(ctx, root, dst, r, opts)
	})
}

// PruneContainers removes every container of ns that does not run and
// that match accepts (nil accepts all), and returns their IDs.
func (e *Engine) PruneContainers(ctx context.Context, ns string, match func(Container) bool) ([]string, error) {
	list, err := e.Containers(ctx, ns, true)
	if err != nil {
		return nil, err
	}
	var removed []string
	// A container others share a network namespace with is refused
	// until they are gone: another pass takes it while passes remove any.
	for progress := true; progress; {
		progress = false
		var kept []Container
		for _, c := range list {
			if c.Status.State == StateRunning || c.Status.State == StatePaused || e.task(ns, c.ID) != nil || match != nil && !match(c) {
				continue
			}
			if err := e.RemoveContainer(ctx, ns, c.ID, RemoveOptions{}); err != nil {
				if errors.Is(err, ErrContainerRunning) {
					continue // started meanwhile
				}
				if errors.Is(err, errdefs.ErrConflict) {
					kept = append(kept, c)
					continue
				}
				return removed, err
			}
			removed, progress = append(removed, c.ID), true
		}
		list = kept
	}
	return removed, nil
}
