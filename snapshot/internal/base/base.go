// Package base is the directory-per-snapshot machinery the overlay and
// native snapshotters share: metadata in bbolt, snapshot trees at
// root/snapshots/<id>/fs, crash-safe creation and removal. A Driver
// supplies what differs: how a new snapshot is populated and mounted.
package base

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/internal/storage"
)

// Driver is what a concrete snapshotter provides.
type Driver interface {
	// Populate fills the new snapshot directory dir (its "fs" exists)
	// given the fs directories of its ancestors, nearest first.
	Populate(kind snapshot.Kind, dir string, parents []string) error
	// Mounts returns the mounts of an active or view snapshot.
	Mounts(kind snapshot.Kind, dir string, parents []string) []snapshot.Mount
}

// Snapshotter implements snapshot.Snapshotter over a Driver.
type Snapshotter struct {
	root string
	ms   *storage.Store
	drv  Driver
}

// New opens a snapshotter rooted at root and removes directories a crash
// left without metadata.
func New(root string, drv Driver) (*Snapshotter, error) {
	if root == "" {
		return nil, fmt.Errorf("snapshotter: empty root: %w", snapshot.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Join(root, "snapshots"), 0o700); err != nil {
		return nil, fmt.Errorf("snapshotter: create %s: %w", root, err)
	}
	ms, err := storage.Open(filepath.Join(root, "metadata.db"))
	if err != nil {
		return nil, err
	}
	s := &Snapshotter{root: root, ms: ms, drv: drv}
	if err := s.cleanup(); err != nil {
		_ = ms.Close()
		return nil, err
	}
	return s, nil
}

// Root returns the snapshotter's root directory.
func (s *Snapshotter) Root() string { return s.root }

func (s *Snapshotter) dir(r storage.Record) string {
	return filepath.Join(s.root, "snapshots", r.IDString())
}

// cleanup removes snapshot directories that no record names: leftovers
// of a crash between creating a directory and committing its record, or
// between removing a record and its directory.
func (s *Snapshotter) cleanup() error {
	var ids map[string]bool
	if err := s.ms.View(func(tx *storage.Tx) error {
		var err error
		ids, err = tx.IDs()
		return err
	}); err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return fmt.Errorf("snapshotter: list snapshots: %w", err)
	}
	for _, e := range ents {
		if ids[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.root, "snapshots", e.Name())); err != nil {
			return fmt.Errorf("snapshotter: remove orphan %s: %w", e.Name(), err)
		}
	}
	return nil
}

// Stat returns a snapshot's info.
func (s *Snapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	var info snapshot.Info
	err := s.ms.View(func(tx *storage.Tx) error {
		r, err := tx.Get(key)
		info = r.Info(key)
		return err
	})
	return info, err
}

// Update changes a snapshot's labels.
func (s *Snapshotter) Update(ctx context.Context, info snapshot.Info, fieldpaths ...string) (snapshot.Info, error) {
	var out snapshot.Info
	err := s.ms.Update(func(tx *storage.Tx) error {
		r, err := tx.UpdateLabels(info, fieldpaths)
		out = r.Info(info.Name)
		return err
	})
	return out, err
}

// Usage returns the disk usage of a snapshot's own layer: measured now
// for active snapshots, recorded at commit for committed ones.
func (s *Snapshotter) Usage(ctx context.Context, key string) (snapshot.Usage, error) {
	var r storage.Record
	if err := s.ms.View(func(tx *storage.Tx) error {
		var err error
		r, err = tx.Get(key)
		return err
	}); err != nil {
		return snapshot.Usage{}, err
	}
	if r.Kind == snapshot.KindCommitted {
		return snapshot.Usage{Size: r.Size, Inodes: r.Inodes}, nil
	}
	return DiskUsage(filepath.Join(s.dir(r), "fs"))
}

// Mounts returns the mounts of an active or view snapshot.
func (s *Snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	var (
		r       storage.Record
		parents []string
	)
	if err := s.ms.View(func(tx *storage.Tx) error {
		var err error
		if r, err = tx.Get(key); err != nil {
			return err
		}
		parents, err = s.parentDirs(tx, r.Parent)
		return err
	}); err != nil {
		return nil, err
	}
	if r.Kind != snapshot.KindActive && r.Kind != snapshot.KindView {
		return nil, fmt.Errorf("mounts of %q: it is %s: %w", key, r.Kind, snapshot.ErrInvalid)
	}
	return s.drv.Mounts(r.Kind, s.dir(r), parents), nil
}

func (s *Snapshotter) parentDirs(tx *storage.Tx, parent string) ([]string, error) {
	if parent == "" {
		return nil, nil
	}
	chain, err := tx.Chain(parent)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = filepath.Join(s.dir(c), "fs")
	}
	return out, nil
}

// Prepare creates an active snapshot on top of parent.
func (s *Snapshotter) Prepare(ctx context.Context, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	return s.create(snapshot.KindActive, key, parent, labels)
}

// View creates a read-only snapshot on top of parent.
func (s *Snapshotter) View(ctx context.Context, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	return s.create(snapshot.KindView, key, parent, labels)
}

// create populates the directory under a temporary name outside any
// transaction (a copy can be long), then records the snapshot and renames
// the directory into place in one transaction.
func (s *Snapshotter) create(kind snapshot.Kind, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	var parents []string
	if err := s.ms.View(func(tx *storage.Tx) error {
		if _, err := tx.Get(key); err == nil {
			return fmt.Errorf("snapshot %q: %w", key, snapshot.ErrAlreadyExists)
		}
		var err error
		parents, err = s.parentDirs(tx, parent)
		if errors.Is(err, snapshot.ErrNotFound) {
			return fmt.Errorf("parent of %q: %w", key, err)
		}
		return err
	}); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "snapshots"), "new-")
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", key, err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "fs"), 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("prepare %q: %w", key, err)
	}
	if err := s.drv.Populate(kind, tmp, parents); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("prepare %q: %w", key, err)
	}
	var dir string
	err = s.ms.Update(func(tx *storage.Tx) error {
		r, _, err := tx.Create(kind, key, parent, labels)
		if err != nil {
			return err
		}
		dir = s.dir(r)
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("prepare %q: %w", key, err)
		}
		return nil
	})
	if err != nil {
		_ = os.RemoveAll(tmp)
		if dir != "" {
			_ = os.RemoveAll(dir) // renamed, but the transaction did not commit
		}
		return nil, err
	}
	return s.drv.Mounts(kind, dir, parents), nil
}

// Commit turns active snapshot key into committed snapshot name.
func (s *Snapshotter) Commit(ctx context.Context, name, key string, labels map[string]string) error {
	var r storage.Record
	if err := s.ms.View(func(tx *storage.Tx) error {
		var err error
		r, err = tx.Get(key)
		return err
	}); err != nil {
		return err
	}
	usage, err := DiskUsage(filepath.Join(s.dir(r), "fs"))
	if err != nil {
		return fmt.Errorf("commit %q: %w", key, err)
	}
	return s.ms.Update(func(tx *storage.Tx) error {
		_, err := tx.Commit(name, key, labels, usage.Size, usage.Inodes)
		return err
	})
}

// Remove deletes a snapshot; one with children is refused.
func (s *Snapshotter) Remove(ctx context.Context, key string) error {
	var r storage.Record
	if err := s.ms.Update(func(tx *storage.Tx) error {
		var err error
		r, err = tx.Remove(key)
		return err
	}); err != nil {
		return err
	}
	// The record is gone; a failure here leaves an orphan directory that
	// the next New removes.
	if err := os.RemoveAll(s.dir(r)); err != nil {
		return fmt.Errorf("remove snapshot %q: %w", key, err)
	}
	return nil
}

// Walk calls fn for every snapshot.
func (s *Snapshotter) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	var infos []snapshot.Info
	if err := s.ms.View(func(tx *storage.Tx) error {
		return tx.Walk(func(k string, r storage.Record) error {
			infos = append(infos, r.Info(k))
			return nil
		})
	}); err != nil {
		return err
	}
	for _, i := range infos {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the metadata database.
func (s *Snapshotter) Close() error { return s.ms.Close() }

// DiskUsage sums the sizes (allocated blocks) and inodes under dir,
// counting hardlinked inodes once.
func DiskUsage(dir string) (snapshot.Usage, error) {
	var u snapshot.Usage
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		ino, blocks := inodeOf(fi)
		if seen[ino] {
			return nil
		}
		seen[ino] = true
		u.Inodes++
		u.Size += blocks * 512
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return u, nil
}
