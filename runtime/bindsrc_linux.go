package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openBindSources opens (O_PATH) the source of every bind mount of spec
// inside the mount namespace of the init pid, which has not entered its
// user namespace's view yet, as runc does: as the user namespace's root
// the init may be unable to reach a source (one only the host's root may
// enter), while we can, and a descriptor opened in its own mount namespace
// can be bound there. A source that cannot be opened yet (it lies inside a
// mount the init makes first), or beyond the first room, is left to the
// init. It returns the mounts' indices and the files, which the caller
// closes. The thread that did the work lives on until initExited is
// closed: it may be the thread that started the init, whose exit would
// fire the init's parent-death signal.
func openBindSources(pid int, spec *specs.Spec, bundle string, room int, initExited <-chan struct{}) ([]int, []*os.File, error) {
	type opened struct {
		idx   []int
		files []*os.File
		err   error
	}
	done := make(chan opened, 1)
	go func() {
		// The thread is left in the container's mount namespace: never
		// unlocked, it exits with the goroutine, once the init is gone.
		runtime.LockOSThread()
		defer func() { <-initExited }()
		var o opened
		o.err = joinMountNS(pid)
		for i, m := range spec.Mounts {
			if o.err != nil || len(o.files) >= room {
				break
			}
			if !isBind(m) || isIDMapped(m) {
				continue
			}
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(bundle, src)
			}
			if f, err := os.OpenFile(src, unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
				o.idx = append(o.idx, i)
				o.files = append(o.files, f)
			}
		}
		done <- o
	}()
	o := <-done
	if o.err != nil {
		for _, f := range o.files {
			f.Close()
		}
		return nil, nil, o.err
	}
	return o.idx, o.files, nil
}

// joinMountNS moves the calling (locked) thread into the mount namespace
// of pid.
func joinMountNS(pid int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare fs attributes: %w", err)
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open init's mount namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join init's mount namespace: %w", err)
	}
	return nil
}

// isBind reports whether a mount is a bind mount.
func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}
