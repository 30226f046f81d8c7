package sysctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Apply validates sysctls (see Validate) and writes each value to its
// file under /proc/sys, in key order. Files are opened beneath a
// directory handle on /proc/sys checked to be procfs, with no symlinks
// and no crossing into another mount. The values land in the namespaces
// of the calling thread, so lock it to the OS thread that is in the
// container's namespaces. Nothing is written if any sysctl is invalid,
// and a file that already holds its value is left alone, so Apply may run
// again once /proc/sys is read-only.
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

// write writes value to the file p beneath dir, unless the file already
// holds it: a sysctl set once (by rootfs.Finalize, before /proc/sys turns
// read-only) is then not written a second time.
func write(dir *os.File, p, value string) error {
	if cur, err := read(dir, p); err == nil && sameValue(cur, value) {
		return nil
	}
	return open(dir, p, unix.O_WRONLY, func(f *os.File) error {
		if _, err := f.WriteString(value); err != nil {
			return fmt.Errorf("write %q: %w", value, err)
		}
		return nil
	})
}

// read returns the current value of the sysctl file p beneath dir.
func read(dir *os.File, p string) (string, error) {
	var out []byte
	err := open(dir, p, unix.O_RDONLY, func(f *os.File) error {
		b, err := io.ReadAll(f)
		out = b
		return err
	})
	return string(out), err
}

// sameValue compares sysctl values as the kernel prints them: fields
// separated by any white space ("250 32000" equals "250\t32000\n"), and
// numbers by value, since the kernel reads "0x10" and prints "16".
func sameValue(a, b string) bool {
	return slices.EqualFunc(strings.Fields(a), strings.Fields(b), func(x, y string) bool {
		if x == y {
			return true
		}
		nx, errx := strconv.ParseInt(x, 0, 64)
		ny, erry := strconv.ParseInt(y, 0, 64)
		return errx == nil && erry == nil && nx == ny
	})
}

// open opens the file p beneath dir (procfs, no symlinks, no other
// mount) with mode and passes it to fn.
func open(dir *os.File, p string, mode int, fn func(*os.File) error) error {
	how := unix.OpenHow{
		Flags:   uint64(mode) | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	fd, err := unix.Openat2(int(dir.Fd()), p, &how)
	if errors.Is(err, unix.ENOSYS) {
		// Before Linux 5.6: p has no ".." (checked) and /proc/sys has
		// no symlinks of its own, so O_NOFOLLOW on the last component
		// is what remains to enforce.
		fd, err = unix.Openat(int(dir.Fd()), p, mode|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	return fn(f)
}
