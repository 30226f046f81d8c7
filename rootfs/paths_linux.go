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

// pathOps carries what masking and read-only paths need, each obtained
// on first use: a missing path costs nothing and needs neither /proc nor
// /dev/null.
type pathOps struct {
	root   *os.File
	procOK bool
	null   *os.File
}

// close releases the /dev/null handle.
func (o *pathOps) close() {
	if o.null != nil {
		o.null.Close()
	}
}

// open opens the container path p; ok is false when it does not exist.
// The first existing path checks that /proc is procfs, since the mounts
// go through /proc/self/fd.
func (o *pathOps) open(p string) (f *os.File, ok bool, err error) {
	f, err = openInRoot(o.root, p, 0)
	if missing(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !o.procOK {
		if err := checkProc(); err != nil {
			f.Close()
			return nil, false, err
		}
		o.procOK = true
	}
	return f, true, nil
}

// readonly binds the container path p onto itself and remounts the bind
// read-only, keeping its other flags. A missing path is skipped.
func (o *pathOps) readonly(p string) error {
	f, ok, err := o.open(p)
	if err != nil || !ok {
		if err != nil {
			return fmt.Errorf("read-only path: %w", err)
		}
		return nil
	}
	defer f.Close()
	if err := unix.Mount(procFd(f), procFd(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind read-only path %s: %w", p, err)
	}
	mounted, err := reopenMounted(o.root, p, f, 0)
	if err != nil {
		return err
	}
	defer mounted.Close()
	if err := remountBind(procFd(mounted), mounted, mountOpts{flags: unix.MS_RDONLY}); err != nil {
		return fmt.Errorf("read-only path %s: %w", p, err)
	}
	return nil
}

// mask hides the container path p: /dev/null is bound over a file and an
// empty read-only tmpfs is mounted over a directory. A missing path is
// skipped.
func (o *pathOps) mask(p string) error {
	f, ok, err := o.open(p)
	if err != nil || !ok {
		if err != nil {
			return fmt.Errorf("masked path: %w", err)
		}
		return nil
	}
	defer f.Close()
	if isDir(f) {
		err = unix.Mount("tmpfs", procFd(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	} else {
		if o.null == nil {
			if o.null, err = openDevNull(o.root); err != nil {
				return err
			}
		}
		err = unix.Mount(procFd(o.null), procFd(f), "", unix.MS_BIND, "")
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
		return nil, fmt.Errorf("%w: open /dev/null: %w", ErrUnsafe, err)
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
