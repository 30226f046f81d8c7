package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// missing reports whether an open error means the path is not there, so
// a masked or read-only path can be skipped.
func missing(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}

// readonlyPath binds the container path p onto itself and remounts the
// bind read-only, keeping its other flags. A missing path is skipped.
func readonlyPath(root *os.File, p string) error {
	f, err := openInRoot(root, p, 0)
	if missing(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read-only path: %w", err)
	}
	defer f.Close()
	if err := unix.Mount(procFd(f), procFd(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind read-only path %s: %w", p, err)
	}
	mounted, err := reopenMounted(root, p, f, 0)
	if err != nil {
		return err
	}
	defer mounted.Close()
	if err := remountBind(procFd(mounted), mounted, mountOpts{flags: unix.MS_RDONLY}); err != nil {
		return fmt.Errorf("read-only path %s: %w", p, err)
	}
	return nil
}

// maskPaths hides each container path: /dev/null is bound over files and
// an empty read-only tmpfs is mounted over directories. Missing paths are
// skipped. /dev/null is first checked to really be the null device.
func maskPaths(root *os.File, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := openDevNull(root)
	if err != nil {
		return err
	}
	defer null.Close()
	for _, p := range paths {
		if err := maskPath(root, null, p); err != nil {
			return err
		}
	}
	return nil
}

// maskPath masks one path.
func maskPath(root, null *os.File, p string) error {
	f, err := openInRoot(root, p, 0)
	if missing(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("masked path: %w", err)
	}
	defer f.Close()
	if isDir(f) {
		err = unix.Mount("tmpfs", procFd(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	} else {
		err = unix.Mount(procFd(null), procFd(f), "", unix.MS_BIND, "")
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	return nil
}

// openDevNull opens the container's /dev/null without following any
// symlink and checks it is the character device 1:3: a rootfs that swaps
// /dev/null for a link to a sensitive file must not get that file bound
// over the masked paths.
func openDevNull(root *os.File) (*os.File, error) {
	null, err := openInRoot(root, "/dev/null", unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return nil, fmt.Errorf("%w: open /dev/null: %v", ErrUnsafe, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		null.Close()
		return nil, fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		null.Close()
		return nil, fmt.Errorf("%w: /dev/null is not the null device (mode %#o, rdev %d:%d)",
			ErrUnsafe, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return null, nil
}
