package sysctl

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Apply validates sysctls (see Validate) and writes each value to its
// file under /proc/sys, in key order. Files are opened beneath a
// directory handle on /proc/sys checked to be procfs, with no symlinks
// and no crossing into another mount. The values land in the namespaces
// of the calling thread, so lock it to the OS thread that is in the
// container's namespaces. Nothing is written if any sysctl is invalid.
func Apply(sysctls map[string]string, ns Namespaces) error {
	return applyAt("/proc/sys", sysctls, ns)
}

// applyAt is Apply with the /proc/sys directory as a parameter.
func applyAt(dir string, sysctls map[string]string, ns Namespaces) error {
	if len(sysctls) == 0 {
		return nil
	}
	keys := sortedKeys(sysctls)
	paths := make([]string, len(keys))
	for i, key := range keys {
		p, err := check(key, sysctls[key], ns)
		if err != nil {
			return err
		}
		paths[i] = p
	}
	d, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not procfs (magic %#x)", dir, st.Type)
	}
	for i, key := range keys {
		if err := write(d, paths[i], sysctls[key]); err != nil {
			return fmt.Errorf("sysctl %s: %w", key, err)
		}
	}
	return nil
}

// write writes value to the file p beneath dir.
func write(dir *os.File, p, value string) error {
	how := unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	fd, err := unix.Openat2(int(dir.Fd()), p, &how)
	if errors.Is(err, unix.ENOSYS) {
		// Before Linux 5.6: p has no ".." (checked) and /proc/sys has
		// no symlinks of its own, so O_NOFOLLOW on the last component
		// is what remains to enforce.
		fd, err = unix.Openat(int(dir.Fd()), p, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("write %q: %w", value, err)
	}
	return nil
}
