package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// openInRoot opens the container path p as an O_PATH handle, resolving
// every component (symlinks and ".." included) inside root, so the result
// can never be outside it. extraResolve adds RESOLVE_* flags (for example
// RESOLVE_NO_SYMLINKS for /proc and /sys).
func openInRoot(root *os.File, p string, extraResolve uint64) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | extraResolve,
	}
	for range 16 {
		fd, err := unix.Openat2(int(root.Fd()), p, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), nil
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue // a concurrent rename; the kernel asks us to retry
		case errors.Is(err, unix.ENOSYS) && extraResolve == 0:
			return pathrs.OpenatInRoot(root, p) // kernel < 5.6
		default:
			return nil, &os.PathError{Op: "openat2 in rootfs", Path: p, Err: err}
		}
	}
	return nil, &os.PathError{Op: "openat2 in rootfs", Path: p, Err: unix.EAGAIN}
}

// mkdirInRoot creates the directory p (and its parents) inside root and
// returns a handle on it.
func mkdirInRoot(root *os.File, p string) (*os.File, error) {
	f, err := openInRoot(root, p, 0)
	if err == nil {
		if err := wantDir(f, p); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return nil, err
	}
	if p, err = resolveInRoot(root, p); err != nil {
		return nil, err
	}
	d, err := pathrs.MkdirAllHandle(root, p, 0o755)
	if err != nil {
		return nil, fmt.Errorf("mkdir %s in rootfs: %w", p, err)
	}
	return d, nil
}

// createFileInRoot makes sure the container path p exists as a
// non-directory (creating an empty regular file if it is missing) and
// returns a handle on it.
func createFileInRoot(root *os.File, p string) (*os.File, error) {
	f, err := openInRoot(root, p, 0)
	if err == nil {
		if isDir(f) {
			f.Close()
			return nil, fmt.Errorf("%w: %s is a directory, a file is needed", ErrInvalidMount, p)
		}
		return f, nil
	}
	if !errors.Is(err, unix.ENOENT) {
		return nil, err
	}
	if p, err = resolveInRoot(root, p); err != nil {
		return nil, err
	}
	dir, err := mkdirInRoot(root, path.Dir(p))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	name := path.Base(p)
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s in rootfs: %w", p, err)
	}
	unix.Close(fd)
	fd, err = unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", p, err)
	}
	return os.NewFile(uintptr(fd), p), nil
}

// resolveInRoot returns the container path p with its symlinks resolved
// inside root as far as it exists, the missing rest appended as written,
// so that a mount through a dangling symlink (or onto one) creates what
// the symlink points to, as runc does. The result is only a path: every
// later step resolves it inside root again.
func resolveInRoot(root *os.File, p string) (string, error) {
	resolved := "/" // exists and has no symlink
	rest := strings.Split(p, "/")
	for hops := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, name)
		f, err := openInRoot(root, next, unix.RESOLVE_NO_SYMLINKS)
		switch {
		case err == nil:
			f.Close()
			resolved = next
		case errors.Is(err, unix.ENOENT):
			return path.Join(append([]string{next}, rest...)...), nil
		case errors.Is(err, unix.ELOOP):
			if hops++; hops > 40 {
				return "", &os.PathError{Op: "resolve in rootfs", Path: p, Err: unix.ELOOP}
			}
			dir, err := openInRoot(root, resolved, unix.RESOLVE_NO_SYMLINKS)
			if err != nil {
				return "", err
			}
			target, err := readlinkat(dir, name)
			dir.Close()
			if err != nil {
				return "", &os.PathError{Op: "readlink in rootfs", Path: next, Err: err}
			}
			if path.IsAbs(target) {
				resolved = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
		default:
			return "", err
		}
	}
	return resolved, nil
}

// readlinkat reads the symlink name in the directory dir.
func readlinkat(dir *os.File, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// procFd is the magic-link path of an open file, through which mount(2)
// reaches exactly the inode we opened and verified.
func procFd(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// isDir reports whether an open handle is a directory.
func isDir(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// wantDir fails unless the handle is a directory.
func wantDir(f *os.File, p string) error {
	if !isDir(f) {
		return fmt.Errorf("%w: %s is not a directory", ErrInvalidMount, p)
	}
	return nil
}

// mountID returns the id of the mount an open handle is on.
func mountID(f *os.File) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, fmt.Errorf("statx %s: %w", f.Name(), err)
	}
	return stx.Mnt_id, nil
}

// reopenMounted opens p again after something was mounted on it and
// checks the new handle is on a different mount than before, so that the
// follow-up operations (remount, propagation, checks) act on our mount.
func reopenMounted(root *os.File, p string, before *os.File, extraResolve uint64) (*os.File, error) {
	f, err := openInRoot(root, p, extraResolve)
	if err != nil {
		return nil, err
	}
	oldID, err1 := mountID(before)
	newID, err2 := mountID(f)
	if err := errors.Join(err1, err2); err != nil {
		f.Close()
		return nil, err
	}
	if oldID == newID {
		f.Close()
		return nil, fmt.Errorf("%w: %s is not the mount just made (path changed under us)", ErrUnsafe, p)
	}
	return f, nil
}
