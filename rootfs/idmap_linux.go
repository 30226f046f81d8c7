package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bindIDMapped makes an idmapped bind mount of source on dest: the source
// tree is cloned with open_tree, given the mount's ID mappings with
// mount_setattr(MOUNT_ATTR_IDMAP), and attached with move_mount onto the
// verified target handle. It needs privilege over the source filesystem,
// so it works only outside a user namespace.
func (p *preparer) bindIDMapped(source, dest string, o mountOpts, uids, gids []specs.LinuxIDMapping) error {
	if p.c.UserNS {
		return fmt.Errorf("idmapped bind of %s from inside a user namespace: %w", source, errors.ErrUnsupported)
	}
	if l := p.c.Spec.Linux; l != nil && len(uids) == 0 && len(gids) == 0 {
		uids, gids = l.UIDMappings, l.GIDMappings
	}
	if len(uids) == 0 || len(gids) == 0 {
		return fmt.Errorf("%w: idmapped mount %s has no uid and gid mappings", ErrInvalidMount, dest)
	}
	if !filepath.IsAbs(source) {
		source = filepath.Join(p.c.BundleDir, source)
	}
	cloneFlags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.flags&unix.MS_REC != 0 {
		cloneFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, cloneFlags)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", source, err)
	}
	tree := os.NewFile(uintptr(fd), source)
	defer tree.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", source, err)
	}
	userns, err := newUserns(uids, gids)
	if err != nil {
		return err
	}
	defer userns.Close()
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	setFlags := uint(unix.AT_EMPTY_PATH)
	if o.idmapRec {
		setFlags |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		return fmt.Errorf("idmap %s (kernel or filesystem without idmapped mounts?): %w", source, err)
	}
	var target *os.File
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		target, err = mkdirInRoot(p.root, dest)
	} else {
		target, err = createFileInRoot(p.root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if err := notInProcfs(target, dest); err != nil {
		return err
	}
	if err := unix.MoveMount(fd, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach idmapped %s on %s: %w", source, dest, err)
	}
	return afterBind(p.root, tree, &st, dest, target, o)
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
