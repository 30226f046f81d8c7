// Package execfifo is the start handshake between berth-runtime's
// created init and whoever starts it: the init blocks opening the exec
// fifo in the container's state directory for writing; opening it for
// reading and taking the byte the init writes lets the init exec the
// user's program. While the fifo exists the container counts as
// created, so a starter retires it (Retire) once the init is released.
//
// berth-runtime's start does this; berth-shim does it itself for
// berth-runtime's containers, which saves a runtime process per start.
// The package has no dependencies beyond x/sys, so the shim stays small.
package execfifo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Name is the fifo's name in the container's state directory.
const Name = "exec.fifo"

// ErrInitExited is returned when the init ended before it was released.
var ErrInitExited = errors.New("container init exited before start")

// Path is the fifo of container id under a runtime's root.
func Path(root, id string) string { return filepath.Join(root, id, Name) }

// Release opens the fifo at path for reading, which lets the blocked
// init open it for writing, and reads the byte the init writes. pidfd
// is the init's: Release gives up if the init ends meanwhile. The pidfd
// must be opened before the call, since once the fifo is open the init
// may exec and exit at once.
func Release(path string, pidfd int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for init: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var b [1]byte
			n, err := unix.Read(fd, b[:])
			if n == 1 {
				return nil
			}
			if err != nil && err != unix.EAGAIN {
				return fmt.Errorf("read exec fifo: %w", err)
			}
		}
		if fds[1].Revents != 0 {
			return ErrInitExited
		}
		// POLLHUP without data: init has not opened its end yet.
		if fds[0].Revents&unix.POLLHUP != 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// ReleasePid is Release for an init known by pid, which must be the
// caller's child or (as for a subreaper) its heir, so that the pid
// cannot be reused before it is reaped. It removes the fifo once the
// init is released.
func ReleasePid(path string, pid int) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInitExited, os.NewSyscallError("pidfd_open", err))
	}
	defer unix.Close(pidfd)
	if err := Release(path, pidfd); err != nil {
		return err
	}
	return Retire(path)
}

// Retired is the name a released fifo is given in the container's
// state directory.
const Retired = ".exec.fifo.released"

// Retire takes the released fifo at path out of the way: it is renamed
// to Retired, not removed. The container's state directory goes whole
// at delete; an inode deleted now would be scanned, one inode-table
// lookup each, by every inode allocated near it for minutes on an ext4
// without a journal.
func Retire(path string) error {
	err := os.Rename(path, filepath.Join(filepath.Dir(path), Retired))
	if err != nil {
		err = os.Remove(path)
	}
	if err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	return nil
}
