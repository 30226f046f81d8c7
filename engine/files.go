package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/mount"
)

// withRoot calls fn with the root filesystem of container ref: its
// bundle's rootfs while that is mounted (a created or running
// container), else its snapshot mounted on a temporary directory, under
// the container's lock so that it does not start meanwhile.
func (e *Engine) withRoot(ctx context.Context, ns, ref string, fn func(root string) error) error {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	unlock := e.lockContainer(ns, c.ID)
	defer unlock()
	rootfs := filepath.Join(e.bundleDir(ns, c.ID), "rootfs")
	if isMountpoint(rootfs) {
		// Open handles keep a root that is unmounted meanwhile alive.
		unlock()
		return fn(rootfs)
	}
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return err
	}
	mounts, err := sn.Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return fmt.Errorf("container %.12s snapshot: %w", c.ID, err)
	}
	return mount.WithTempMount(mounts, fn)
}

// CopyFromContainer returns a tar of path in container ref and what path
// names, with `docker cp`'s rules (see archive.CopyOut). It works for
// every container that has a record, running or not; closing the reader
// stops the copy.
func (e *Engine) CopyFromContainer(ctx context.Context, ns, ref, path string) (io.ReadCloser, archive.PathStat, error) {
	type opened struct {
		st  archive.PathStat
		err error
	}
	ready := make(chan opened, 1)
	pr, pw := io.Pipe()
	go func() {
		sent := false
		err := e.withRoot(ctx, ns, ref, func(root string) error {
			rc, st, err := archive.CopyOut(ctx, root, path)
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
// cp`'s rules (see archive.CopyIn); files belong to the container's root
// unless opts.CopyUIDGID.
func (e *Engine) CopyToContainer(ctx context.Context, ns, ref, dst string, r io.Reader, opts archive.CopyInOptions) error {
	return e.withRoot(ctx, ns, ref, func(root string) error {
		return archive.CopyIn(ctx, root, dst, r, opts)
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
