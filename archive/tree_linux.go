package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrChanged means a file changed while WriteTree read it (a running
// container writing to it, or swapping it for something else).
var ErrChanged = errors.New("archive: file changed while being read")

// WriteTree writes to w a tar of the entry name in directory dir: a file,
// a symlink (written as a link, never followed) or a directory with
// everything under it; "." is dir itself. Entries are named prefix and
// prefix/child/...; a prefix of "." gives "./" and "./child".
//
// Every entry is opened relative to its parent's descriptor with
// O_NOFOLLOW and checked to be what was stat'ed, so no symlink in the
// tree, not even one swapped in while the tree is read, leads outside
// dir. Sockets are skipped; hardlinked files are written once. A
// directory of a kernel pseudo filesystem (proc, sysfs, cgroup, devpts,
// ...), which a running container's view has mounted, is written
// without its content: it holds no files to copy.
func WriteTree(ctx context.Context, w io.Writer, dir *os.File, name, prefix string) error {
	t := &treeWriter{ctx: ctx, tw: tar.NewWriter(w), links: map[[2]uint64]string{}, buf: make([]byte, 1<<20)}
	if err := t.walk(int(dir.Fd()), name, prefix); err != nil {
		return fmt.Errorf("write tree of %s: %w", name, err)
	}
	return t.tw.Close()
}

type treeWriter struct {
	ctx   context.Context
	tw    *tar.Writer
	links map[[2]uint64]string
	buf   []byte
}

// walk writes dirFd/name as tarName, and its children for a directory.
func (t *treeWriter) walk(dirFd int, name, tarName string) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirFd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", tarName, err)
	}
	hdr := &tar.Header{
		Name: tarName, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: timeOf(st.Mtim), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return t.directory(dirFd, name, hdr, &st)
	case unix.S_IFREG:
		return t.regular(dirFd, name, hdr, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(dirFd, name)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", tarName, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets cannot be archived
	}
	return t.tw.WriteHeader(hdr)
}

// openChecked opens dirFd/name without following it and checks it is the
// inode st describes.
func openChecked(dirFd int, name string, flags int, st *unix.Stat_t) (*os.File, error) {
	fd, err := unix.Openat(dirFd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil || now.Ino != st.Ino || now.Dev != st.Dev {
		f.Close()
		return nil, ErrChanged
	}
	return f, nil
}

func (t *treeWriter) directory(dirFd int, name string, hdr *tar.Header, st *unix.Stat_t) error {
	f, err := openChecked(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY, st)
	if err != nil {
		return fmt.Errorf("open %s: %w", hdr.Name, err)
	}
	defer f.Close()
	hdr.Typeflag = tar.TypeDir
	if !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	if err := fdXattrs(hdr, int(f.Fd())); err != nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if isPseudoFS(int(f.Fd())) {
		return nil
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", hdr.Name, err)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := t.walk(int(f.Fd()), n, hdr.Name+n); err != nil {
			return err
		}
	}
	return nil
}

func (t *treeWriter) regular(dirFd int, name string, hdr *tar.Header, st *unix.Stat_t) error {
	key := [2]uint64{uint64(st.Dev), st.Ino}
	if first, ok := t.links[key]; ok && st.Nlink > 1 {
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
		return t.tw.WriteHeader(hdr)
	}
	f, err := openChecked(dirFd, name, unix.O_RDONLY, st)
	if err != nil {
		return fmt.Errorf("open %s: %w", hdr.Name, err)
	}
	defer f.Close()
	if st.Nlink > 1 {
		t.links[key] = hdr.Name
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	if err := fdXattrs(hdr, int(f.Fd())); err != nil {
		return err
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(t.tw, io.LimitReader(f, st.Size), t.buf)
	if err == nil && n != st.Size {
		err = fmt.Errorf("%s: %w", hdr.Name, ErrChanged)
	}
	return err
}

// readlinkat reads a symlink's target whatever its length.
func readlinkat(dirFd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirFd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// fdXattrs records an open file's xattrs (never overlay's own) as PAX
// records.
func fdXattrs(hdr *tar.Header, fd int) error {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz == 0 {
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("list xattrs of %s: %w", hdr.Name, err)
		}
		return nil
	}
	list := make([]byte, sz)
	if sz, err = unix.Flistxattr(fd, list); err != nil {
		return fmt.Errorf("list xattrs of %s: %w", hdr.Name, err)
	}
	for _, k := range bytes.Split(list[:sz], []byte{0}) {
		key := string(k)
		if key == "" || strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay.") {
			continue
		}
		val := make([]byte, 64<<10)
		n, err := unix.Fgetxattr(fd, key, val)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue
			}
			return fmt.Errorf("read xattr %s of %s: %w", key, hdr.Name, err)
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+key] = string(val[:n])
	}
	return nil
}

// mqueueMagic is the mqueue filesystem's statfs type, which unix lacks.
const mqueueMagic = 0x19800202

// isPseudoFS reports whether the directory fd is on a kernel pseudo
// filesystem, whose entries are the kernel's state rather than files.
func isPseudoFS(fd int) bool {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil {
		return false
	}
	switch fs.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
		unix.DEVPTS_SUPER_MAGIC, mqueueMagic, unix.SECURITYFS_MAGIC, unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC,
		unix.BPF_FS_MAGIC, unix.PSTOREFS_MAGIC, unix.SELINUX_MAGIC, unix.SMACK_MAGIC, unix.BINFMTFS_MAGIC,
		unix.NSFS_MAGIC, unix.EFIVARFS_MAGIC:
		return true
	}
	return false
}
