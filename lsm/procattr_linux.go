package lsm

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// procRoot is where procfs is expected; tests point it elsewhere.
var procRoot = "/proc"

// procRootIno is the inode number of a procfs root directory.
const procRootIno = 1

// openProcAttr opens the first of rels (paths relative to /proc, such as
// "thread-self/attr/exec") that exists, for writing, after proving that
// /proc is the root of a procfs and that the path does not leave it: it
// is resolved with openat2(RESOLVE_NO_XDEV|RESOLVE_NO_MAGICLINKS) so a
// file bind-mounted over it is refused, and the opened file's own
// filesystem is checked again.
func openProcAttr(rels ...string) (*os.File, error) {
	dfd, err := unix.Open(procRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", procRoot, err)
	}
	defer unix.Close(dfd)
	if err := checkProcfs(dfd, procRoot); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", procRoot, err)
	}
	if st.Ino != procRootIno {
		return nil, fmt.Errorf("%s is not the root of a procfs (inode %d): %w", procRoot, st.Ino, ErrNotProcfs)
	}
	var lastErr error
	for _, rel := range rels {
		fd, err := openNoXdev(dfd, rel)
		if errors.Is(err, unix.ENOENT) {
			lastErr = err
			continue
		}
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s/%s crosses a mount: %w", procRoot, rel, ErrNotProcfs)
		}
		if err != nil {
			return nil, fmt.Errorf("open %s/%s: %w", procRoot, rel, err)
		}
		if err := checkProcfs(fd, procRoot+"/"+rel); err != nil {
			unix.Close(fd)
			return nil, err
		}
		return os.NewFile(uintptr(fd), procRoot+"/"+rel), nil
	}
	return nil, fmt.Errorf("open %s/%s: %w", procRoot, rels[len(rels)-1], lastErr)
}

// openNoXdev opens rel under dfd for writing without crossing a mount
// point, falling back to a plain openat on kernels before 5.6 (the
// fstatfs check of the result then still applies).
func openNoXdev(dfd int, rel string) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(dfd, rel, how)
	if errors.Is(err, unix.ENOSYS) {
		return unix.Openat(dfd, rel, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	}
	return fd, err
}

// checkProcfs fails unless fd lives on a procfs.
func checkProcfs(fd int, name string) error {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return fmt.Errorf("statfs %s: %w", name, err)
	}
	if uint32(sfs.Type) != uint32(unix.PROC_SUPER_MAGIC) {
		return fmt.Errorf("%s (filesystem magic %#x): %w", name, sfs.Type, ErrNotProcfs)
	}
	return nil
}

// writeProcAttr writes value to the first existing attr file of rels in
// one write(2), as the LSMs require.
func writeProcAttr(value string, rels ...string) error {
	f, err := openProcAttr(rels...)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write([]byte(value)); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, f.Name(), err)
	}
	return nil
}
