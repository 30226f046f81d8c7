package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/sysctl"
)

// Finalize runs after Pivot, with the rootfs as "/": it applies
// linux.sysctl (while /proc/sys is still writable), remounts a tmpfs
// /dev read-only if the spec asked for it, makes the read-only paths
// read-only, masks the masked paths, remounts the root read-only when
// spec.Root.Readonly is set, and last applies linux.rootfsPropagation to
// "/". Masking and read-only paths that exist need the container's /proc
// mounted; missing ones are skipped.
func Finalize(c *Config) error {
	if err := c.check(); err != nil {
		return err
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer root.Close()
	if l := c.Spec.Linux; l != nil && len(l.Sysctl) > 0 {
		// /proc/sys is usually among the read-only paths: the sysctls
		// go in first.
		if err := sysctl.Apply(l.Sysctl, sysctl.FromSpec(l)); err != nil {
			return err
		}
	}
	if err := remountDevReadonly(c, root); err != nil {
		return err
	}
	if l := c.Spec.Linux; l != nil {
		ops := &pathOps{root: root}
		defer ops.close()
		for _, p := range l.ReadonlyPaths {
			if err := ops.readonly(p); err != nil {
				return err
			}
		}
		for _, p := range l.MaskedPaths {
			if err := ops.mask(p); err != nil {
				return err
			}
		}
	}
	if c.Spec.Root != nil && c.Spec.Root.Readonly {
		if err := remountBind("/", root, mountOpts{flags: unix.MS_RDONLY}); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if c.Spec.Linux != nil {
		flag, _ := rootPropagation(c.Spec.Linux.RootfsPropagation)
		if flag != 0 {
			if err := unix.Mount("", "/", "", flag, ""); err != nil {
				return fmt.Errorf("set rootfs propagation %s: %w", c.Spec.Linux.RootfsPropagation, err)
			}
		}
	}
	return nil
}

// checkProc fails unless /proc is procfs: the fd-based mounts go through
// /proc/self/fd.
func checkProc() error {
	proc, err := os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: open /proc: %w", ErrUnsafe, err)
	}
	defer proc.Close()
	if err := checkMagic(proc, unix.PROC_SUPER_MAGIC); err != nil {
		return fmt.Errorf("/proc must be mounted for masked and read-only paths: %w", err)
	}
	return nil
}

// remountDevReadonly remounts a tmpfs /dev read-only when the spec mounts
// it "ro" (Prepare mounted it writable to create the device nodes).
func remountDevReadonly(c *Config, root *os.File) error {
	for _, m := range c.Spec.Mounts {
		cm, err := checkMountIn(m, c.Rootfs)
		if err != nil {
			return err
		}
		if cm.dest != "/dev" || cm.bind || m.Type != "tmpfs" || cm.opts.flags&unix.MS_RDONLY == 0 {
			continue
		}
		if err := checkProc(); err != nil {
			return err
		}
		dev, err := openInRoot(root, "/dev", 0)
		if err != nil {
			return err
		}
		defer dev.Close()
		if err := checkMagic(dev, unix.TMPFS_MAGIC); err != nil {
			return fmt.Errorf("remount /dev: %w", err)
		}
		flags := cm.opts.flags&^(unix.MS_BIND|unix.MS_REC) | unix.MS_REMOUNT
		if err := unix.Mount("", procFd(dev), "", flags, cm.opts.dataString()); err != nil {
			return fmt.Errorf("remount /dev read-only: %w", err)
		}
	}
	return nil
}
