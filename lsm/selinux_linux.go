package lsm

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// selinuxfsMount is where selinuxfs is normally mounted.
const selinuxfsMount = "/sys/fs/selinux"

// SELinuxEnabled reports whether SELinux is active: selinuxfs is
// mounted and the kernel gives processes labels.
func SELinuxEnabled() bool {
	return selinuxfs() != ""
}

// selinuxfs returns the mount point of selinuxfs, or "".
func selinuxfs() string {
	var sfs unix.Statfs_t
	if unix.Statfs(selinuxfsMount, &sfs) == nil && uint32(sfs.Type) == uint32(unix.SELINUX_MAGIC) {
		return selinuxfsMount
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// The filesystem type follows the " - " separator.
		fields := strings.Fields(s.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "selinuxfs" && len(fields) > 4 {
				return fields[4]
			}
		}
	}
	return ""
}

// ValidateSELinux checks, on the host before the container starts, that
// label (a process or mount label) is one the loaded policy accepts. An
// empty label is always valid.
func ValidateSELinux(label string) error {
	if label == "" {
		return nil
	}
	if err := checkLabel(label); err != nil {
		return err
	}
	mnt := selinuxfs()
	if mnt == "" {
		return fmt.Errorf("selinux label %q: selinux is not enabled: %w", label, ErrNotSupported)
	}
	// Writing a context to selinuxfs's "context" file asks the policy
	// whether it is valid.
	f, err := os.OpenFile(mnt+"/context", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("selinux label %q: %w", label, err)
	}
	defer f.Close()
	if _, err := f.Write([]byte(label)); err != nil {
		return fmt.Errorf("selinux label %q is not valid in the loaded policy: %v: %w", label, err, ErrNotSupported)
	}
	return nil
}

// SetExecLabel makes the calling thread's next execve run with the
// SELinux process label. An empty label does nothing. The caller must
// lock its OS thread and execve from it.
func SetExecLabel(label string) error {
	if label == "" {
		return nil
	}
	if err := checkLabel(label); err != nil {
		return err
	}
	if !SELinuxEnabled() {
		return fmt.Errorf("selinux label %q: selinux is not enabled: %w", label, ErrNotSupported)
	}
	if err := writeProcAttr(label, "thread-self/attr/selinux/exec", "thread-self/attr/exec"); err != nil {
		return fmt.Errorf("set selinux exec label %q: %w", label, err)
	}
	return nil
}
