package initproc

import "github.com/berth-dev/berth/lsm"

// setLSM arranges for the AppArmor profile and SELinux label to take
// effect at the next execve of this thread.
func setLSM(apparmor, selinux string) error {
	if apparmor != "" {
		if err := lsm.ApplyAppArmor(apparmor); err != nil {
			return err
		}
	}
	if selinux != "" {
		if err := lsm.SetExecLabel(selinux); err != nil {
			return err
		}
	}
	return nil
}
