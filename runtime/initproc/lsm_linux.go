package initproc

import (
	"fmt"
	"os"
)

// setLSM arranges for the AppArmor profile and SELinux label to take
// effect at the next execve of this thread.
func setLSM(apparmor, selinux string) error {
	if apparmor != "" {
		if err := os.WriteFile("/proc/thread-self/attr/apparmor/exec", []byte("exec "+apparmor), 0); err != nil {
			if err2 := os.WriteFile("/proc/thread-self/attr/exec", []byte("exec "+apparmor), 0); err2 != nil {
				return fmt.Errorf("set apparmor profile %q: %w", apparmor, err)
			}
		}
	}
	if selinux != "" {
		if err := os.WriteFile("/proc/thread-self/attr/exec", []byte(selinux), 0); err != nil {
			return fmt.Errorf("set selinux label %q: %w", selinux, err)
		}
	}
	return nil
}
