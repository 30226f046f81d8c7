package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	usernsholder "github.com/berth-dev/berth/internal/userns"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bindIDMapped attaches an idmapped bind mount of m's source on its
// destination: the detached tree the runtime made with OpenIDMapped, or,
// outside a user namespace, one made here. The tree is attached with
// move_mount onto the verified target handle.
func (p *preparer) bindIDMapped(m checkedMount) error {
	tree := p.c.IDMapped[m.index]
	if tree == nil {
		if p.c.UserNS {
			return fmt.Errorf("idmapped bind of %s from inside a user namespace (the runtime must make it outside, with rootfs.OpenIDMapped): %w", m.Source, errors.ErrUnsupported)
		}
		uids, gids := idMappings(m.Mount, p.c.Spec.Linux)
		t, err := openIDMappedTree(sourcePath(m.Source, p.c.BundleDir), m.dest, m.opts, uids, gids)
		if err != nil {
			return err
		}
		defer t.Close()
		tree = t
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(tree.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", m.Source, err)
	}
	var target *os.File
	var err error
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		target, err = mkdirInRoot(p.root, m.dest)
	} else {
		target, err = createFileInRoot(p.root, m.dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := notInProcfs(target, m.dest); err != nil {
		return err
	}
	if err := unix.MoveMount(int(tree.Fd()), "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach idmapped %s on %s: %w", m.Source, m.dest, err)
	}
	return afterBind(p.root, tree, &st, m.dest, target, m.opts)
}

// OpenIDMapped makes, outside the container, the detached idmapped clone
// of the source of an "idmap" or "ridmap" bind mount, for Prepare to
// attach through Config.IDMapped. The mount's own mappings are used, else
// those of linux (the container's user namespace). Relative sources
// resolve against bundleDir. The caller must be privileged over the
// source's filesystem (the host's root, outside any user namespace).
func OpenIDMapped(m specs.Mount, bundleDir string, linux *specs.Linux) (*os.File, error) {
	cm, err := checkMount(m)
	if err != nil {
		return nil, err
	}
	if !cm.bind || !cm.opts.idmap {
		return nil, fmt.Errorf("%w: mount %s is not an idmapped bind mount", ErrInvalidMount, cm.dest)
	}
	uids, gids := idMappings(m, linux)
	// usernsholder.Open traces its holder child: keep to one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return openIDMappedTree(sourcePath(m.Source, bundleDir), cm.dest, cm.opts, uids, gids)
}

// idMappings returns the mappings of an idmapped mount: its own, else the
// container's.
func idMappings(m specs.Mount, linux *specs.Linux) (uids, gids []specs.LinuxIDMapping) {
	uids, gids = m.UIDMappings, m.GIDMappings
	if linux != nil && len(uids) == 0 && len(gids) == 0 {
		uids, gids = linux.UIDMappings, linux.GIDMappings
	}
	return uids, gids
}

// sourcePath resolves a bind source against the bundle.
func sourcePath(source, bundleDir string) string {
	if filepath.IsAbs(source) {
		return source
	}
	return filepath.Join(bundleDir, source)
}

// openIDMappedTree clones source with open_tree and gives the clone the
// mappings with mount_setattr(MOUNT_ATTR_IDMAP). The result is detached
// until moved somewhere.
func openIDMappedTree(source, dest string, o mountOpts, uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	if len(uids) == 0 || len(gids) == 0 {
		return nil, fmt.Errorf("%w: idmapped mount %s has no uid and gid mappings", ErrInvalidMount, dest)
	}
	cloneFlags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.flags&unix.MS_REC != 0 {
		cloneFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, cloneFlags)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", source, err)
	}
	tree := os.NewFile(uintptr(fd), source)
	userns, err := usernsholder.Open(uids, gids)
	if err != nil {
		tree.Close()
		return nil, err
	}
	defer userns.Close()
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if o.idmapRec {
		setFlags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		tree.Close()
		return nil, fmt.Errorf("idmap %s (kernel or filesystem without idmapped mounts?): %w", source, err)
	}
	return tree, nil
}
