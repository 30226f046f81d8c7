package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/snapshot"
	"golang.org/x/sys/unix"
)

// ChangeKind says how a path of a container differs from its image; the
// values are Docker's.
type ChangeKind int

// The kinds of change.
const (
	ChangeModified ChangeKind = iota
	ChangeAdded
	ChangeDeleted
)

// String is the letter `docker diff` prints: C, A or D.
func (k ChangeKind) String() string {
	switch k {
	case ChangeModified:
		return "C"
	case ChangeAdded:
		return "A"
	case ChangeDeleted:
		return "D"
	}
	return "?"
}

// Change is one changed path of a container's root filesystem.
type Change struct {
	// Path is absolute in the container.
	Path string
	Kind ChangeKind
}

// Changes lists how container ref's root filesystem differs from its
// image, as `docker diff` does, read from the upper directory of its
// overlay snapshot: running or not, the snapshot need not be mounted.
// The list is in Docker's order: a depth-first walk, names sorted,
// each directory before what is under it. A directory the image has is
// Modified when anything under it changed or its mode, owner or mtime
// did; a directory removed and made again (an opaque one) lists what
// the image had in it and it has not as Deleted.
func (e *Engine) Changes(ctx context.Context, ns, ref string) ([]Change, error) {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return nil, err
	}
	if c.SnapshotKey == "" {
		return nil, errdefs.New(errdefs.ErrFailedPrecondition, fmt.Sprintf("container %.12s has no image to compare with", c.ID))
	}
	if c.Snapshotter != "overlay" {
		return nil, errdefs.New(errdefs.ErrNotImplemented, fmt.Sprintf("the changes of container %.12s: listed only with the overlay snapshotter, not %q", c.ID, c.Snapshotter))
	}
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return nil, err
	}
	mounts, err := sn.Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return nil, fmt.Errorf("container %.12s snapshot: %w", c.ID, err)
	}
	l, err := overlayLayersOf(mounts)
	if err != nil {
		return nil, fmt.Errorf("container %.12s snapshot: %w", c.ID, err)
	}
	changes, err := l.changes()
	if err != nil {
		return nil, fmt.Errorf("the changes of container %.12s: %w", c.ID, err)
	}
	return changes, nil
}

// overlayLayers is an active overlay snapshot: its upper directory, its
// lower ones (the image's layers, topmost first) and the xattr that
// marks an opaque directory.
type overlayLayers struct {
	upper  string
	lowers []string
	opaque string
}

// overlayLayersOf reads the layers from an overlay snapshot's mounts: an
// overlay mount, or the read-write bind of a snapshot without parents.
func overlayLayersOf(mounts []snapshot.Mount) (overlayLayers, error) {
	if len(mounts) != 1 {
		return overlayLayers{}, fmt.Errorf("%d mounts, want one", len(mounts))
	}
	m := mounts[0]
	l := overlayLayers{opaque: "trusted.overlay.opaque"}
	switch m.Type {
	case "bind", "rbind":
		l.upper = m.Source
	case "overlay":
		for _, o := range m.Options {
			switch k, v, _ := strings.Cut(o, "="); k {
			case "upperdir":
				l.upper = v
			case "lowerdir":
				l.lowers = strings.Split(v, ":")
			case "userxattr":
				l.opaque = "user.overlay.opaque"
			}
		}
	default:
		return overlayLayers{}, fmt.Errorf("a %q mount", m.Type)
	}
	if l.upper == "" {
		return overlayLayers{}, errors.New("no upper directory")
	}
	return l, nil
}

// changes walks the upper directory by descriptors, never following a
// symlink nor opening a file: the container may be changing it. The
// lower directories are the image's, which nothing changes.
func (l overlayLayers) changes() ([]Change, error) {
	fd, err := unix.Open(l.upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", l.upper, err)
	}
	root := os.NewFile(uintptr(fd), l.upper)
	defer root.Close()
	var image []string // the root's directories in the layers, down to an opaque one
	for _, d := range l.lowers {
		image = append(image, d)
		if l.isOpaque(d) {
			break
		}
	}
	return l.walk(root, "/", image, l.isOpaqueFd(root))
}

// imageEntry is what the image has at a name: whether it has it, its
// stat, and for a directory the directories making it up, topmost
// first.
type imageEntry struct {
	present bool
	st      unix.Stat_t
	dirs    []string
}

// lookup finds name in the image directory made of dirs as overlayfs
// does: the topmost layer that has it wins, a whiteout hides it, a
// directory merges with those under it down to an opaque one or a
// non-directory. Each of dirs is a real directory, so no symlink is
// followed.
func (l overlayLayers) lookup(dirs []string, name string) (imageEntry, error) {
	var e imageEntry
	for _, d := range dirs {
		p := filepath.Join(d, name)
		var st unix.Stat_t
		err := unix.Lstat(p, &st)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return imageEntry{}, fmt.Errorf("lstat %s: %w", p, err)
		}
		if isWhiteout(&st) || e.present && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			break
		}
		if !e.present {
			e.present, e.st = true, st
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			break
		}
		e.dirs = append(e.dirs, p)
		if l.isOpaque(p) {
			break
		}
	}
	return e, nil
}

// walk lists the changes under dir, the upper directory of path p,
// whose image directory is made of image; replaced says the image's
// entries there are hidden (an opaque directory here or above), so
// that those dir does not have are Deleted.
func (l overlayLayers) walk(dir *os.File, p string, image []string, replaced bool) ([]Change, error) {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	upper := make(map[string]bool, len(names))
	for _, n := range names {
		upper[n] = true
	}
	if replaced {
		for _, d := range image {
			hidden, err := readNames(d)
			if err != nil {
				return nil, err
			}
			for _, n := range hidden {
				if !upper[n] {
					upper[n] = false
					names = append(names, n)
				}
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var changes []Change
	for _, n := range names {
		img, err := l.lookup(image, n)
		if err != nil {
			return nil, err
		}
		if !upper[n] {
			if img.present {
				changes = append(changes, Change{Path: path.Join(p, n), Kind: ChangeDeleted})
			}
			continue
		}
		cs, err := l.entry(dir, path.Join(p, n), n, img, replaced)
		if err != nil {
			return nil, err
		}
		changes = append(changes, cs...)
	}
	return changes, nil
}

// entry lists the changes of name in the upper directory dir (p in the
// container) and under it.
func (l overlayLayers) entry(dir *os.File, p, name string, img imageEntry, replaced bool) ([]Change, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil // removed meanwhile
		}
		return nil, fmt.Errorf("lstat %s: %w", p, err)
	}
	kind := ChangeAdded
	if img.present {
		kind = ChangeModified
	}
	switch {
	case isWhiteout(&st):
		if !img.present {
			return nil, nil
		}
		return []Change{{Path: p, Kind: ChangeDeleted}}, nil
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return []Change{{Path: p, Kind: kind}}, nil
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return []Change{{Path: p, Kind: kind}}, nil // replaced meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	sub := os.NewFile(uintptr(fd), p)
	defer sub.Close()
	opaque := l.isOpaqueFd(sub)
	imgDir := img.present && img.st.Mode&unix.S_IFMT == unix.S_IFDIR
	if !imgDir {
		img.dirs = nil
	}
	under, err := l.walk(sub, p, img.dirs, imgDir && (replaced || opaque))
	if err != nil {
		return nil, err
	}
	if imgDir && len(under) == 0 && !opaque && sameDirMeta(&st, &img.st) {
		return nil, nil // copied up, nothing changed
	}
	return append([]Change{{Path: p, Kind: kind}}, under...), nil
}

// sameDirMeta says whether two directories' mode, owner and mtime agree.
func sameDirMeta(a, b *unix.Stat_t) bool {
	return a.Mode == b.Mode && a.Uid == b.Uid && a.Gid == b.Gid && a.Mtim == b.Mtim
}

// isWhiteout says whether st is overlayfs's whiteout, a 0/0 character
// device.
func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func (l overlayLayers) isOpaque(p string) bool {
	buf := make([]byte, 2)
	n, err := unix.Lgetxattr(p, l.opaque, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func (l overlayLayers) isOpaqueFd(f *os.File) bool {
	buf := make([]byte, 2)
	n, err := unix.Fgetxattr(int(f.Fd()), l.opaque, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// readNames lists the real directory d of an image layer.
func readNames(d string) ([]string, error) {
	fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d, err)
	}
	f := os.NewFile(uintptr(fd), d)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d, err)
	}
	return names, nil
}
