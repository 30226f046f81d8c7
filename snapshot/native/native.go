// Package native is Berth's copy snapshotter for filesystems without
// overlayfs: an active snapshot starts as a full copy of its parent
// (owners, modes, xattrs, hardlinks and devices preserved) and is bind
// mounted; a view bind-mounts its committed parent read-only.
package native

import (
	"path/filepath"

	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/internal/base"
)

// New opens (creating) a native snapshotter rooted at root.
func New(root string) (snapshot.Snapshotter, error) {
	return base.New(root, driver{})
}

type driver struct{}

func (driver) Populate(kind snapshot.Kind, dir string, parents []string) error {
	if kind != snapshot.KindActive || len(parents) == 0 {
		return nil
	}
	return CopyTree(filepath.Join(dir, "fs"), parents[0])
}

func (driver) Mounts(kind snapshot.Kind, dir string, parents []string) []snapshot.Mount {
	src := filepath.Join(dir, "fs")
	if kind == snapshot.KindView {
		if len(parents) > 0 {
			src = parents[0]
		}
		return []snapshot.Mount{{Type: "bind", Source: src, Options: []string{"ro", "rbind"}}}
	}
	return []snapshot.Mount{{Type: "bind", Source: src, Options: []string{"rw", "rbind"}}}
}
