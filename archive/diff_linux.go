package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteOverlayDiff writes the layer tar of an overlay upper directory:
// its files as they are, 0:0 character devices as ".wh.<name>"
// whiteouts and opaque directories followed by ".wh..wh..opq". Entries
// are sorted, so the same tree gives the same bytes.
func WriteOverlayDiff(ctx context.Context, w io.Writer, upperDir string) error {
	dw := newDiffWriter(w)
	err := walkSorted(upperDir, "", func(rel string, st *unix.Stat_t) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		full := filepath.Join(upperDir, rel)
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return false, dw.whiteout(rel)
		}
		if err := dw.entry(full, rel, st); err != nil {
			return false, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR && isOpaque(full) {
			if err := dw.whiteout(pathJoin(rel, whiteoutOpaque[len(whiteoutPrefix):])); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("write diff of %s: %w", upperDir, err)
	}
	return dw.close()
}

// WriteDiff writes the layer tar that turns directory lower ("" for
// none) into directory upper (both plain trees, as the native snapshotter
// keeps them): what is new or changed in upper (by type, mode, owner, size,
// mtime, link target), and whiteouts for what upper lacks.
func WriteDiff(ctx context.Context, w io.Writer, lowerDir, upperDir string) error {
	dw := newDiffWriter(w)
	err := walkSorted(upperDir, "", func(rel string, st *unix.Stat_t) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		full := filepath.Join(upperDir, rel)
		var lst unix.Stat_t
		lerr := error(unix.ENOENT)
		if lowerDir != "" {
			lerr = unix.Lstat(filepath.Join(lowerDir, rel), &lst)
		}
		if lerr == nil && sameEntry(st, &lst, full, filepath.Join(lowerDir, rel)) {
			return true, nil
		}
		if err := dw.entry(full, rel, st); err != nil {
			return false, err
		}
		return true, nil
	})
	if err == nil && lowerDir != "" {
		// Whiteouts for what upper lacks (not descending into removed dirs).
		err = walkSorted(lowerDir, "", func(rel string, st *unix.Stat_t) (bool, error) {
			var ust unix.Stat_t
			if uerr := unix.Lstat(filepath.Join(upperDir, rel), &ust); uerr != nil {
				if !errors.Is(uerr, unix.ENOENT) {
					return false, uerr
				}
				return false, dw.whiteout(rel)
			}
			return ust.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
		})
	}
	if err != nil {
		return fmt.Errorf("write diff of %s against %s: %w", upperDir, lowerDir, err)
	}
	return dw.close()
}

// sameEntry reports whether two entries look unchanged.
func sameEntry(a, b *unix.Stat_t, pa, pb string) bool {
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid {
		return false
	}
	switch a.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return a.Mtim == b.Mtim
	case unix.S_IFLNK:
		ta, _ := os.Readlink(pa)
		tb, _ := os.Readlink(pb)
		return ta == tb
	case unix.S_IFCHR, unix.S_IFBLK:
		return a.Rdev == b.Rdev
	default:
		return a.Size == b.Size && a.Mtim == b.Mtim
	}
}

func pathJoin(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// walkSorted calls fn for every entry under root (relative paths, sorted
// per directory, parents before children); fn returns whether to descend
// into a directory.
func walkSorted(root, rel string, fn func(rel string, st *unix.Stat_t) (bool, error)) error {
	names, err := readNames(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		p := pathJoin(rel, n)
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			return err
		}
		descend, err := fn(p, &st)
		if err != nil {
			return err
		}
		if descend && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := walkSorted(root, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return f.Readdirnames(-1)
}

func isOpaque(dir string) bool {
	buf := make([]byte, 2)
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(dir, name, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// diffWriter writes tar entries for files, tracking hardlinks.
type diffWriter struct {
	tw    *tar.Writer
	links map[[2]uint64]string
	buf   []byte
}

func newDiffWriter(w io.Writer) *diffWriter {
	return &diffWriter{tw: tar.NewWriter(w), links: map[[2]uint64]string{}, buf: make([]byte, 1<<20)}
}

func (d *diffWriter) close() error { return d.tw.Close() }

func (d *diffWriter) whiteout(rel string) error {
	dir, base := split(rel)
	return d.tw.WriteHeader(&tar.Header{Name: pathJoin(dir, whiteoutPrefix+base), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
}

func (d *diffWriter) entry(full, rel string, st *unix.Stat_t) error {
	hdr := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: timeOf(st.Mtim), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case unix.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := d.links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
		} else {
			if st.Nlink > 1 {
				d.links[key] = rel
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR:
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets are not part of layers
	}
	if err := addXattrs(hdr, full); err != nil {
		return err
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	n, err := io.CopyBuffer(d.tw, struct{ io.Reader }{f}, d.buf)
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("%s changed size while being read", rel)
	}
	return err
}

// addXattrs records a file's xattrs (but never overlay's own) as PAX
// records.
func addXattrs(hdr *tar.Header, full string) error {
	sz, err := unix.Llistxattr(full, nil)
	if err != nil || sz == 0 {
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			return err
		}
		return nil
	}
	list := make([]byte, sz)
	if sz, err = unix.Llistxattr(full, list); err != nil {
		return err
	}
	for _, name := range bytes.Split(list[:sz], []byte{0}) {
		k := string(name)
		if k == "" || strings.HasPrefix(k, "trusted.overlay.") || strings.HasPrefix(k, "user.overlay.") {
			continue
		}
		vsz, err := unix.Lgetxattr(full, k, nil)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODATA) {
				continue
			}
			return err
		}
		val := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(full, k, val); err != nil {
			return err
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = string(val[:vsz])
	}
	return nil
}
