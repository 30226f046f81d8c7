package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// procPath names parent/base through /proc/self/fd for the l*xattr
// calls (the last component is not followed).
func (a *applier) procPath(parent cachedDir, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(parent.fd) + "/" + base
}

// needChown reports whether a new file would not already have the
// entry's owner.
func (a *applier) needChown(parent cachedDir, hdr *tar.Header) bool {
	if a.opts.NoSameOwner {
		return false
	}
	return hdr.Uid != a.euid || hdr.Gid != a.egid || parent.setgid
}

func (a *applier) chownErr(err error, name string) error {
	if a.opts.Rootless && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM)) {
		return nil // an id the user namespace does not map
	}
	return fmt.Errorf("chown %q: %w", name, err)
}

func (a *applier) chownFd(fd int, parent cachedDir, hdr *tar.Header, name string) (bool, error) {
	if !a.needChown(parent, hdr) {
		return false, nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return false, a.chownErr(err, name)
	}
	return true, nil
}

func (a *applier) chownAt(parent cachedDir, base string, hdr *tar.Header, name string) error {
	if !a.needChown(parent, hdr) {
		return nil
	}
	if err := unix.Fchownat(parent.fd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return a.chownErr(err, name)
	}
	return nil
}

func (a *applier) chownRoot(hdr *tar.Header) error {
	if a.opts.NoSameOwner {
		return nil
	}
	if err := unix.Fchown(a.rootFd, hdr.Uid, hdr.Gid); err != nil {
		return a.chownErr(err, "the root")
	}
	return nil
}

// xattrs sets the entry's PAX SCHILY.xattr.* records on fd, or on path
// (not following a final symlink) when fd is -1. Overlay's own xattrs
// are never taken from a layer.
func (a *applier) xattrs(fd int, path string, hdr *tar.Header, name string) error {
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay.") {
			continue
		}
		var err error
		if fd >= 0 && path == "" {
			err = unix.Fsetxattr(fd, key, []byte(v), 0)
		} else {
			err = unix.Lsetxattr(path, key, []byte(v), 0)
		}
		if err == nil {
			continue
		}
		privileged := strings.HasPrefix(key, "security.") || strings.HasPrefix(key, "trusted.")
		if errors.Is(err, unix.ENOTSUP) && privileged {
			continue
		}
		if hdr.Typeflag == tar.TypeSymlink && (errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM)) {
			continue // user.* xattrs are not allowed on symlinks
		}
		if a.opts.Rootless && privileged && errors.Is(err, unix.EPERM) {
			continue
		}
		return fmt.Errorf("set xattr %s on %q: %w", key, name, err)
	}
	return nil
}

func atime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}
