package archive

import (
	"errors"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// OpenInRoot opens p as an O_PATH descriptor, resolving every component
// (symlinks, absolute or relative, and "..") as if root were "/": the
// result is never outside root, whatever root holds or a process in it
// changes meanwhile. It uses openat2(RESOLVE_IN_ROOT) and, on kernels
// before 5.6, securejoin's emulation, which re-checks every step through
// /proc.
func OpenInRoot(root *os.File, p string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 16 {
		fd, err := unix.Openat2(int(root.Fd()), p, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), p), nil
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue // a concurrent rename; the kernel asks for a retry
		case errors.Is(err, unix.ENOSYS):
			return pathrs.OpenatInRoot(root, p)
		default:
			return nil, &os.PathError{Op: "open in root", Path: p, Err: err}
		}
	}
	return nil, &os.PathError{Op: "open in root", Path: p, Err: unix.EAGAIN}
}
