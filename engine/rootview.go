package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// rootView is a running container's root as its processes see it: its
// root filesystem with its volumes, binds and tmpfs mounts on it.
type rootView struct {
	root  *os.File // the container's "/"
	mntNS *os.File // keeps its mount tree whole should the container exit
}

func (v *rootView) Close() {
	v.root.Close()
	v.mntNS.Close()
}

// openView opens the root of running container c through
// /proc/PID/root of its init, which the kernel walks in the container's
// mount namespace. The PID comes from c's record and might, once the
// init has exited, name another process; so a pidfd is opened first,
// then the namespace and root, and then the pidfd's process must still
// be alive (so those were its, not a later one's with the PID reused)
// and the root must be the container's root filesystem, the bundle's
// rootfs (so the pidfd's process is in the container, not one that took
// the PID before the pidfd was opened). The open namespace keeps the
// mounts attached to the root until Close even if the container stops.
// It returns os.ErrProcessDone when the init is gone.
func (e *Engine) openView(ns string, c Container) (*rootView, error) {
	pid := c.Status.Pid
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, os.ErrProcessDone
		}
		return nil, fmt.Errorf("container %.12s: open its init: %w", c.ID, err)
	}
	defer unix.Close(pidfd)
	proc := "/proc/" + strconv.Itoa(pid)
	mntNS, err := os.Open(proc + "/ns/mnt")
	if err != nil {
		return nil, viewError(c, err)
	}
	root, err := os.OpenFile(proc+"/root", os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		mntNS.Close()
		return nil, viewError(c, err)
	}
	v := &rootView{root: root, mntNS: mntNS}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		v.Close()
		return nil, os.ErrProcessDone
	}
	if err := sameFile(root, e.rootOf(ns, c)); err != nil {
		v.Close()
		return nil, fmt.Errorf("container %.12s: its init's root: %w", c.ID, err)
	}
	return v, nil
}

// rootOf is the host path of c's root filesystem: its bundle's rootfs,
// or for a container of a host binary the root it shares with the others
// of that binary (writeBinaryBundle), as its spec names it. For a shared
// root, openView's check shows only that the pid's process is in one of
// the containers of that binary.
func (e *Engine) rootOf(ns string, c Container) string {
	own := filepath.Join(e.bundleDir(ns, c.ID), "rootfs")
	if c.SnapshotKey != "" {
		return own
	}
	var s struct {
		Root struct {
			Path string `json:"path"`
		} `json:"root"`
	}
	if err := e.decodeSpec(ns, c.ID, &s); err != nil || !filepath.IsAbs(s.Root.Path) {
		return own
	}
	return s.Root.Path
}

// viewError maps an init that went away to os.ErrProcessDone.
func viewError(c Container, err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return os.ErrProcessDone
	}
	return fmt.Errorf("container %.12s: open its root: %w", c.ID, err)
}

// sameFile checks that f is the file at path.
func sameFile(f *os.File, path string) error {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return err
	}
	if err := unix.Stat(path, &b); err != nil {
		return err
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		return fmt.Errorf("not the container's root filesystem %s", path)
	}
	return nil
}
