package userns

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Open returns a handle on a new user namespace with the given
// mappings. The namespace is made by a child that is stopped (traced)
// right after exec, before it runs anything, and killed once the handle
// is open; the caller's thread must be locked (berth-init's is). The
// child's maps are written through a private procfs instance of the
// caller's pid namespace: the /proc still mounted before pivot is the
// host's, where the child's pid means another process.
func Open(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
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
