package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

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
	// newUserns traces its holder child: keep to one thread.
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
	userns, err := newUserns(uids, gids)
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

// newUserns returns a handle on a new user namespace with the given
// mappings. The namespace is made by a child that is stopped (traced)
// right after exec, before it runs anything, and killed once the handle
// is open; the caller's thread must be locked (berth-init's is). The
// child's maps are written through a private procfs instance of the
// caller's pid namespace: the /proc still mounted before pivot is the
// host's, where the child's pid means another process.
func newUserns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	proc, err := privateProc()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER,
		Ptrace:     true,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start user namespace holder: %w", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	pid := strconv.Itoa(cmd.Process.Pid)
	if err := writeMap(proc, pid+"/uid_map", uids); err != nil {
		return nil, err
	}
	if err := writeMap(proc, pid+"/gid_map", gids); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(proc.Fd()), pid+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open user namespace: %w", err)
	}
	return os.NewFile(uintptr(fd), "userns"), nil
}

// privateProc returns a detached procfs mount of the caller's pid
// namespace (fsopen/fsmount, never attached anywhere).
func privateProc() (*os.File, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen proc: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("create proc instance: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsmount proc: %w", err)
	}
	return os.NewFile(uintptr(mfd), "proc"), nil
}

// writeMap writes an ID map file under a procfs handle in one write(2).
func writeMap(proc *os.File, name string, m []specs.LinuxIDMapping) error {
	var b []byte
	for _, e := range m {
		b = fmt.Appendf(b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	fd, err := unix.Openat(int(proc.Fd()), name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, b); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
