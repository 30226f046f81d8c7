package rootfs

import (
	"errors"
	"fmt"
	"github.com/berth-dev/berth/mount"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Pivot makes c.Rootfs the root of the mount namespace and changes to "/".
// By default it uses pivot_root(".", ".") from inside the new root and
// then lazily unmounts the old root stacked on top of it, so no directory
// for the old root is needed and none is left behind. With c.NoPivot it
// moves the rootfs mount onto "/" and chroots instead (for ramfs roots,
// where pivot_root fails); the host tree then stays in the mount namespace,
// reachable to a process that can escape a chroot, so use it only when
// needed.
func Pivot(c *Config) error {
	if c == nil || c.Rootfs == "" {
		return fmt.Errorf("%w: no rootfs", ErrInvalidMount)
	}
	if c.NoPivot {
		return moveRoot(c.Rootfs)
	}
	return pivotRoot(c.Rootfs)
}

// pivotRoot swaps the root with pivot_root(".", ".").
func pivotRoot(rootfs string) error {
	oldRoot, err := os.OpenFile("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer oldRoot.Close()
	newRoot, err := os.OpenFile(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open new root: %w", err)
	}
	defer newRoot.Close()
	if err := unix.Fchdir(int(newRoot.Fd())); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to %s: %w", rootfs, err)
	}
	// The old root is now mounted on top of the new one, at ".": make it
	// a slave so that detaching it cannot propagate to the host, detach
	// it, and land in the new root.
	if err := unix.Fchdir(int(oldRoot.Fd())); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// moveRoot moves the rootfs mount onto "/" and chroots into it, first
// hiding the host's procfs and sysfs mounts (see hideHostPseudoFS).
func moveRoot(rootfs string) error {
	if err := hideHostPseudoFS(rootfs); err != nil {
		return err
	}
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs %s onto /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// hideHostPseudoFS detaches every mount of a whole procfs or sysfs outside
// rootfs, or covers it with an empty read-only tmpfs where it cannot be
// detached (it is locked, in a user namespace). Without pivot_root the
// host's mounts stay in the container's mount namespace, out of sight but
// counted by the kernel: a fully visible host procfs or sysfs there would
// let the container mount a fresh, unmasked one from a nested user
// namespace, which the masked ones in its rootfs are meant to prevent.
// runc's --no-pivot does the same.
func hideHostPseudoFS(rootfs string) error {
	root, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return fmt.Errorf("resolve rootfs %s: %w", rootfs, err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 || f[3] != "/" || (g[0] != "proc" && g[0] != "sysfs") {
			continue
		}
		p := mount.Unescape(f[4])
		if p == root || strings.HasPrefix(p, root+"/") {
			continue
		}
		err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT): // gone with a detached parent
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EPERM):
			if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				return fmt.Errorf("cover host %s at %s: %w", g[0], p, err)
			}
		default:
			return fmt.Errorf("detach host %s at %s: %w", g[0], p, err)
		}
	}
	return nil
}
