package runtime

import (
	"fmt"
	"os"
	"strings"
)

// checkLSM fails when the host cannot apply the AppArmor profile or SELinux
// label a process asks for.
func checkLSM(apparmor, selinux string) error {
	if apparmor != "" {
		b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
		if err != nil || !strings.HasPrefix(string(b), "Y") {
			return fmt.Errorf("%w: apparmor profile %q requested but AppArmor is not enabled on this host", ErrNotSupported, apparmor)
		}
	}
	if selinux != "" {
		if _, err := os.Stat("/sys/fs/selinux/enforce"); err != nil {
			return fmt.Errorf("%w: SELinux label %q requested but SELinux is not enabled on this host", ErrNotSupported, selinux)
		}
	}
	return nil
}
