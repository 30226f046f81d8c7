package mount

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// mountFlags are the options that are mount flags rather than data;
// the bool says whether the option clears the flag.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"noatime": {false, unix.MS_NOATIME}, "relatime": {false, unix.MS_RELATIME},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"remount": {false, unix.MS_REMOUNT},
}

// parseOptions splits mount options into flags and a data string.
func parseOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// Mount mounts m on target. A read-only bind mount is made in two steps
// (bind, then remount read-only) as the kernel requires.
func (m Mount) Mount(target string) error {
	flags, data := parseOptions(m.Options)
	typ := m.Type
	if flags&unix.MS_BIND != 0 {
		typ = ""
		data = ""
	}
	if len(data) >= 4096 {
		return fmt.Errorf("mount %s on %s: options longer than a page (%d bytes): %w", m.Type, target, len(data), ErrInvalid)
	}
	first := flags
	if flags&unix.MS_BIND != 0 {
		first &^= unix.MS_RDONLY // the kernel ignores it on a new bind
	}
	if err := unix.Mount(m.Source, target, typ, first, data); err != nil {
		return fmt.Errorf("mount %s %s on %s: %w", m.Type, m.Source, target, err)
	}
	if flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0 {
		rf := unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | flags&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
		if err := unix.Mount("", target, "", rf, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
}

// All mounts every mount on target in order; on failure the ones
// already made are undone.
func All(mounts []Mount, target string) error {
	if len(mounts) == 0 {
		return fmt.Errorf("mount on %s: no mounts: %w", target, ErrInvalid)
	}
	for i, m := range mounts {
		if err := m.Mount(target); err != nil {
			for j := 0; j < i; j++ {
				_ = unix.Unmount(target, unix.MNT_DETACH)
			}
			return err
		}
	}
	return nil
}

// UnmountAll unmounts everything mounted on target (stacked mounts
// included); a target with nothing mounted is not an error.
func UnmountAll(target string) error {
	for i := 0; i < 64; i++ {
		err := unix.Unmount(target, 0)
		if err == nil {
			continue
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if errors.Is(err, unix.EBUSY) {
			if err := unix.Unmount(target, unix.MNT_DETACH); err == nil {
				continue
			}
		}
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return fmt.Errorf("unmount %s: too many stacked mounts", target)
}
