// Package overlay is Berth's overlayfs snapshotter: one directory per
// snapshot (root/snapshots/<id>/{fs,work}); committed snapshots are
// stacked as overlay lower directories.
package overlay

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/userns"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/internal/base"
)

// New opens (creating) an overlay snapshotter rooted at root.
func New(root string) (snapshot.Snapshotter, error) {
	return base.New(root, driver{})
}

type driver struct{}

func (driver) Populate(kind snapshot.Kind, dir string, parents []string) error {
	if kind == snapshot.KindActive && len(parents) > 0 {
		return os.Mkdir(filepath.Join(dir, "work"), 0o711)
	}
	return nil
}

// Mounts: an active snapshot without parent is a read-write bind mount
// of its fs; with parents, an overlay. A view is a read-only bind of its
// only parent (or of its own empty fs) or a read-only overlay of all.
func (driver) Mounts(kind snapshot.Kind, dir string, parents []string) []snapshot.Mount {
	fs := filepath.Join(dir, "fs")
	if kind == snapshot.KindView {
		switch len(parents) {
		case 0:
			return []snapshot.Mount{{Type: "bind", Source: fs, Options: []string{"ro", "rbind"}}}
		case 1:
			return []snapshot.Mount{{Type: "bind", Source: parents[0], Options: []string{"ro", "rbind"}}}
		default:
			return []snapshot.Mount{{Type: "overlay", Source: "overlay", Options: withUserXattr([]string{"lowerdir=" + strings.Join(parents, ":")})}}
		}
	}
	if len(parents) == 0 {
		return []snapshot.Mount{{Type: "bind", Source: fs, Options: []string{"rw", "rbind"}}}
	}
	return []snapshot.Mount{{Type: "overlay", Source: "overlay", Options: withUserXattr([]string{
		"workdir=" + filepath.Join(dir, "work"),
		"upperdir=" + fs,
		"lowerdir=" + strings.Join(parents, ":"),
	})}}
}

// withUserXattr adds userxattr in a user namespace, where overlay keeps
// whiteout and opaque markers in user.overlay.* xattrs (Linux 5.11+).
func withUserXattr(opts []string) []string {
	if userns.Inside() {
		return append(opts, "userxattr")
	}
	return opts
}
