package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/errdefs"
)

// PathStat describes what a container path names, for `berth cp`.
type PathStat struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       os.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget,omitempty"`
}

// CopyOut returns a tar of ctrPath in the container whose root
// filesystem is rootfs, as `docker cp CONTAINER:SRC` does: a file or a
// symlink (the link itself) under its base name, a directory with its
// content under its base name, and for a path ending in "/." the
// directory's content alone ("./", "./child"). A path ending in "/"
// follows a final symlink. Every component is resolved inside rootfs
// (see OpenInRoot) and the tree is read fd-relative (see WriteTree), so
// no symlink, "..", or concurrent change in the container reaches the
// host. The tar is written as it is read; closing it stops the copy.
func CopyOut(ctx context.Context, rootfs, ctrPath string) (io.ReadCloser, PathStat, error) {
	root, err := os.Open(rootfs)
	if err != nil {
		return nil, PathStat{}, fmt.Errorf("copy from container: %w", err)
	}
	defer root.Close()
	return CopyOutAt(ctx, root, ctrPath)
}

// CopyOutAt is CopyOut in the root directory handle root, which the
// caller may close once it returns.
func CopyOutAt(ctx context.Context, root *os.File, ctrPath string) (io.ReadCloser, PathStat, error) {
	dir, name, prefix, err := openSource(root, ctrPath)
	if err != nil {
		return nil, PathStat{}, fmt.Errorf("copy from %s: %w", ctrPath, cpError(err))
	}
	st, err := statAt(dir, name, prefix)
	if err != nil {
		dir.Close()
		return nil, PathStat{}, fmt.Errorf("copy from %s: %w", ctrPath, cpError(err))
	}
	pr, pw := io.Pipe()
	go func() {
		defer dir.Close()
		pw.CloseWithError(WriteTree(ctx, pw, dir, name, prefix))
	}()
	return pr, st, nil
}

// StatAt describes ctrPath in the root directory handle root as CopyOut
// would, without reading it.
func StatAt(root *os.File, ctrPath string) (PathStat, error) {
	dir, name, prefix, err := openSource(root, ctrPath)
	if err != nil {
		return PathStat{}, fmt.Errorf("stat %s: %w", ctrPath, cpError(err))
	}
	defer dir.Close()
	st, err := statAt(dir, name, prefix)
	if err != nil {
		return PathStat{}, fmt.Errorf("stat %s: %w", ctrPath, cpError(err))
	}
	return st, nil
}

// openSource opens what WriteTree needs for ctrPath: a directory handle,
// the name in it, and the prefix entries are named under.
func openSource(root *os.File, ctrPath string) (dir *os.File, name, prefix string, err error) {
	clean := path.Clean("/" + ctrPath)
	if strings.HasSuffix(ctrPath, "/.") {
		dir, err = OpenInRoot(root, clean)
		return dir, ".", ".", err
	}
	base := path.Base(clean)
	if clean == "/" {
		base = "."
	}
	if strings.HasSuffix(ctrPath, "/") {
		dir, err = OpenInRoot(root, clean)
		if err == nil && !isDirFd(dir) {
			dir.Close()
			return nil, "", "", unix.ENOTDIR
		}
		return dir, ".", base, err
	}
	dir, err = OpenInRoot(root, path.Dir(clean))
	if err == nil && !isDirFd(dir) {
		dir.Close()
		return nil, "", "", unix.ENOTDIR
	}
	return dir, base, base, err
}

func isDirFd(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// statAt describes dir/name (not followed) under the name prefix.
func statAt(dir *os.File, name, prefix string) (PathStat, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return PathStat{}, err
	}
	ps := PathStat{Name: prefix, Size: st.Size, Mode: fileMode(st.Mode), Mtime: timeOf(st.Mtim)}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		ps.LinkTarget, _ = readlinkat(int(dir.Fd()), name)
	}
	return ps, nil
}

// fileMode converts a stat mode to an os.FileMode.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	for _, b := range [...]struct {
		bit  uint32
		mode os.FileMode
	}{{unix.S_ISUID, os.ModeSetuid}, {unix.S_ISGID, os.ModeSetgid}, {unix.S_ISVTX, os.ModeSticky}} {
		if m&b.bit != 0 {
			mode |= b.mode
		}
	}
	return mode
}

// CopyInOptions describe the tar CopyIn unpacks.
type CopyInOptions struct {
	// SrcName is the name the source is archived under (its base name,
	// PathStat.Name for a container's path); "." when the tar holds a
	// directory's content ("./", "./child"), a source ending in "/.".
	SrcName string
	// SrcIsDir says whether the source is a directory.
	SrcIsDir bool
	// CopyUIDGID keeps the tar's owners (`cp -a`); otherwise every file
	// belongs to UID:GID, the container's root as the host sees it.
	CopyUIDGID bool
	UID, GID   int
	// NoOverwriteDirNonDir refuses to replace a directory with a
	// non-directory or the reverse (`docker cp`'s default).
	NoOverwriteDirNonDir bool
}

// ErrCannotCopyDir means a directory was to be copied onto a file.
var ErrCannotCopyDir = errdefs.New(errdefs.ErrInvalidArgument, "cannot copy a directory onto a file")

// CopyIn unpacks the tar r to dst in the container whose root
// filesystem is rootfs, with `docker cp SRC CONTAINER:DST`'s rules:
//   - dst an existing directory: the source goes into it under its own
//     name, or, for a directory's content (SrcName "."), its content
//     is merged into dst;
//   - dst an existing file: a file source replaces it; a directory
//     source is refused with ErrCannotCopyDir;
//   - dst missing: the source is created as dst (a directory source's
//     content goes into the new directory dst); a file source with dst
//     ending in "/" is refused, as is a missing parent directory.
//
// dst and its parent are resolved inside rootfs (see OpenInRoot) and the
// tar is unpacked by Apply under that handle, so no symlink or ".." in
// the container or in the tar leads outside it; a symlink at dst itself
// is replaced, not written through. Entries named like whiteouts
// (".wh.*") are refused: they would delete files.
func CopyIn(ctx context.Context, rootfs, dst string, r io.Reader, opts CopyInOptions) error {
	root, err := os.Open(rootfs)
	if err != nil {
		return fmt.Errorf("copy to container: %w", err)
	}
	defer root.Close()
	return CopyInAt(ctx, root, dst, r, opts)
}

// CopyInAt is CopyIn in the root directory handle root.
func CopyInAt(ctx context.Context, root *os.File, dst string, r io.Reader, opts CopyInOptions) error {
	if _, err := cleanName(opts.SrcName); err != nil || strings.Contains(opts.SrcName, "/") && opts.SrcName != "." {
		return fmt.Errorf("copy to %s: source name %q is not a base name: %w", dst, opts.SrcName, errdefs.ErrInvalidArgument)
	}
	into, rename, err := copyTarget(root, dst, opts)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, cpError(err))
	}
	defer into.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rewriteTar(r, pw, opts, rename)) }()
	target := "/proc/self/fd/" + strconv.Itoa(int(into.Fd()))
	_, err = Apply(ctx, target, pr, ApplyOptions{NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// copyTarget opens the directory CopyIn unpacks into and returns the
// name the source's top entry takes there ("" keeps names as they are).
func copyTarget(root *os.File, dst string, opts CopyInOptions) (*os.File, string, error) {
	clean := path.Clean("/" + dst)
	wantDir := strings.HasSuffix(dst, "/") || strings.HasSuffix(dst, "/.")
	f, err := OpenInRoot(root, clean)
	switch {
	case err == nil && isDirFd(f):
		return f, "", nil
	case err == nil:
		f.Close()
		if opts.SrcIsDir {
			return nil, "", ErrCannotCopyDir
		}
		if wantDir {
			return nil, "", unix.ENOTDIR
		}
	case !errors.Is(err, unix.ENOENT):
		return nil, "", err
	case wantDir && !opts.SrcIsDir:
		return nil, "", fmt.Errorf("destination directory %s does not exist: %w", dst, errdefs.ErrNotFound)
	}
	if clean == "/" {
		return nil, "", unix.EISDIR
	}
	parent, err := OpenInRoot(root, path.Dir(clean))
	if err != nil || !isDirFd(parent) {
		if parent != nil {
			parent.Close()
		}
		return nil, "", fmt.Errorf("destination parent %s does not exist or is not a directory: %w", path.Dir(clean), errdefs.ErrNotFound)
	}
	return parent, path.Base(clean), nil
}

// rewriteTar copies tar r to w, renaming the source's top entry to
// rename (when set), dropping a "./" entry that would change the
// destination directory itself, refusing entries outside the source and
// whiteout names, and setting owners unless opts.CopyUIDGID.
func rewriteTar(r io.Reader, w io.Writer, opts CopyInOptions, rename string) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name, err := renameEntry(hdr.Name, opts.SrcName, rename)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the destination directory's own entry
		}
		if strings.HasPrefix(path.Base(name), whiteoutPrefix) {
			return fmt.Errorf("entry %q: names starting with %s are not supported: %w", hdr.Name, whiteoutPrefix, ErrUnsupportedEntry)
		}
		if hdr.Typeflag == tar.TypeLink {
			if hdr.Linkname, err = renameEntry(hdr.Linkname, opts.SrcName, rename); err != nil {
				return err
			}
		}
		hdr.Name = name
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if !opts.CopyUIDGID {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = opts.UID, opts.GID, "", ""
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// renameEntry maps a tar name under src ("." for content) to its name
// under rename ("" keeps it).
func renameEntry(name, src, rename string) (string, error) {
	c, err := cleanName(name)
	if err != nil {
		return "", err
	}
	s, _ := cleanName(src)
	rest, ok := c, s == ""
	if !ok {
		if c == s {
			rest, ok = "", true
		} else {
			rest, ok = strings.CutPrefix(c, s+"/")
		}
	}
	if !ok {
		return "", fmt.Errorf("entry %q is not under the source %q: %w", name, src, ErrUnsafePath)
	}
	if rename == "" {
		return c, nil
	}
	return path.Join(rename, rest), nil
}

// cpError gives a missing path its kind.
func cpError(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w: %w", errdefs.ErrNotFound, err)
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	return err
}
