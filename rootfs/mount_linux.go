package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// preparer carries the state of one Prepare call.
type preparer struct {
	c    *Config
	root *os.File // O_PATH handle on the rootfs bind mount
}

// mount performs one validated spec mount.
func (p *preparer) mount(m checkedMount) error {
	switch {
	case m.bind && m.opts.idmap:
		return p.bindIDMapped(m)
	case m.bind:
		return p.bind(m.Source, m.dest, m.opts, p.c.BindSources[m.index])
	case m.Type == "proc":
		return p.mountPseudo(m, unix.PROC_SUPER_MAGIC)
	case m.Type == "sysfs":
		err := p.mountPseudo(m, unix.SYSFS_MAGIC)
		if errors.Is(err, unix.EPERM) && p.c.UserNS {
			// A user namespace without its own network namespace
			// may not mount sysfs: show the host's, recursively.
			o := m.opts
			o.flags |= unix.MS_BIND | unix.MS_REC
			return p.bind("/sys", m.dest, o, nil)
		}
		return err
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return p.mountCgroup(m)
	case m.Type == "tmpfs" && m.dest == "/dev":
		// Device nodes are created in /dev after this; a read-only
		// /dev is remounted read-only by Finalize.
		o := m.opts
		o.flags &^= unix.MS_RDONLY
		return p.mountFS(m.Source, m.dest, m.Type, o)
	default:
		return p.mountFS(m.Source, m.dest, m.Type, m.opts)
	}
}

// mountFS mounts a filesystem of type typ on the container path dest.
func (p *preparer) mountFS(source, dest, typ string, o mountOpts) error {
	if source == "" {
		source = typ
	}
	target, err := mkdirInRoot(p.root, dest)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := notInProcfs(target, dest); err != nil {
		return err
	}
	if p.c.Spec != nil && p.c.Spec.Linux != nil {
		if o, err = withMountLabel(o, typ, p.c.Spec.Linux.MountLabel); err != nil {
			return err
		}
	}
	if err := unix.Mount(source, procFd(target), typ, o.flags&^unix.MS_REMOUNT, o.dataString()); err != nil {
		return fmt.Errorf("mount %s on %s: %w", typ, dest, err)
	}
	return p.finish(dest, target, o)
}

// mountPseudo mounts proc or sysfs on a destination that must be a real
// directory (no symlink anywhere on the path) and checks by statfs magic
// that the result really is that filesystem.
func (p *preparer) mountPseudo(m checkedMount, magic int64) error {
	target, err := openInRoot(p.root, m.dest, unix.RESOLVE_NO_SYMLINKS)
	if errors.Is(err, unix.ENOENT) {
		var d *os.File
		if d, err = mkdirInRoot(p.root, m.dest); err == nil {
			d.Close()
			target, err = openInRoot(p.root, m.dest, unix.RESOLVE_NO_SYMLINKS)
		}
	}
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("%w: %s destination %s must not be or go through a symlink: %w", ErrUnsafe, m.Type, m.dest, err)
	}
	if err != nil {
		return fmt.Errorf("%s destination: %w", m.Type, err)
	}
	defer target.Close()
	if err := wantDir(target, m.dest); err != nil {
		return err
	}
	if err := notInProcfs(target, m.dest); err != nil {
		return err
	}
	if err := unix.Mount(m.Type, procFd(target), m.Type, m.opts.flags&^unix.MS_REMOUNT, m.opts.dataString()); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.dest, err)
	}
	mounted, err := reopenMounted(p.root, m.dest, target, unix.RESOLVE_NO_SYMLINKS)
	if err != nil {
		return err
	}
	defer mounted.Close()
	if err := checkMagic(mounted, magic); err != nil {
		return fmt.Errorf("%s on %s: %w", m.Type, m.dest, err)
	}
	return applyPropagation(m.dest, mounted, m.opts)
}

// finish applies propagation and recursive attributes to what was just
// mounted on dest (under handle before).
func (p *preparer) finish(dest string, before *os.File, o mountOpts) error {
	if len(o.propagate) == 0 && !o.hasRecAttr() {
		return nil
	}
	mounted, err := reopenMounted(p.root, dest, before, 0)
	if err != nil {
		return err
	}
	defer mounted.Close()
	return applyPropagation(dest, mounted, o)
}

// applyPropagation applies the propagation options and recursive
// attributes of o to the mount whose root is open as mounted.
func applyPropagation(dest string, mounted *os.File, o mountOpts) error {
	for _, flag := range o.propagate {
		if err := unix.Mount("", procFd(mounted), "", flag, ""); err != nil {
			return fmt.Errorf("set propagation of %s: %w", dest, err)
		}
	}
	if o.hasRecAttr() {
		attr := o.recAttr
		if err := unix.MountSetattr(int(mounted.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("set recursive attributes of %s: %w", dest, err)
		}
	}
	return nil
}

// checkMagic fails with ErrUnsafe unless f is on a filesystem with the
// given statfs magic.
func checkMagic(f *os.File, magic int64) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", f.Name(), err)
	}
	if int64(st.Type) != magic {
		return fmt.Errorf("%w: %s has filesystem magic %#x, want %#x", ErrUnsafe, f.Name(), st.Type, magic)
	}
	return nil
}

// notInProcfs refuses a mount target that lies inside a procfs: a
// symlink such as /x -> /proc in the image must not let a mount with an
// innocent-looking destination cover part of the container's /proc.
func notInProcfs(target *os.File, dest string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(target.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dest, err)
	}
	if st.Type == unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%w: %s resolves into procfs", ErrUnsafe, dest)
	}
	return nil
}
