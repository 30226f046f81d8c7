package lsm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// AppArmorUnconfined is the profile name meaning "no confinement".
const AppArmorUnconfined = "unconfined"

// AppArmorEnabled reports whether AppArmor is enabled in the running
// kernel and its securityfs interface is reachable.
func AppArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if err != nil || len(b) == 0 || b[0] != 'Y' {
		return false
	}
	_, err = os.Stat("/sys/kernel/security/apparmor")
	return err == nil
}

// ValidateAppArmor checks, on the host before the container starts, that
// profile can be applied: AppArmor is enabled and the profile is loaded.
// An empty profile asks for nothing and is always valid.
func ValidateAppArmor(profile string) error {
	if profile == "" {
		return nil
	}
	if err := checkProfileName(profile); err != nil {
		return err
	}
	if !AppArmorEnabled() {
		return fmt.Errorf("apparmor profile %q: apparmor is not enabled: %w", profile, ErrNotSupported)
	}
	if profile == AppArmorUnconfined {
		return nil
	}
	f, err := os.Open("/sys/kernel/security/apparmor/profiles")
	if err != nil {
		return fmt.Errorf("list apparmor profiles: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// Lines read "name (mode)"; names may contain spaces.
		line := s.Text()
		if i := strings.LastIndex(line, " ("); i >= 0 && line[:i] == profile {
			return nil
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("list apparmor profiles: %w", err)
	}
	return fmt.Errorf("apparmor profile %q is not loaded: %w", profile, ErrNotSupported)
}

// ApplyAppArmor makes the calling thread's next execve switch to
// profile, by writing "exec <profile>" to the thread's AppArmor exec
// attribute. An empty profile does nothing. The caller must lock its OS
// thread and execve from it.
func ApplyAppArmor(profile string) error {
	if profile == "" {
		return nil
	}
	if err := checkProfileName(profile); err != nil {
		return err
	}
	if !AppArmorEnabled() {
		return fmt.Errorf("apparmor profile %q: apparmor is not enabled: %w", profile, ErrNotSupported)
	}
	err := writeProcAttr("exec "+profile, "thread-self/attr/apparmor/exec", "thread-self/attr/exec")
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("apparmor profile %q is not loaded: %w", profile, ErrNotSupported)
	}
	if err != nil {
		return fmt.Errorf("apply apparmor profile %q: %w", profile, err)
	}
	return nil
}

// checkProfileName refuses names the attr interface would misread.
func checkProfileName(profile string) error {
	if strings.ContainsAny(profile, "\x00\n") {
		return fmt.Errorf("apparmor profile %q: %w", profile, ErrInvalid)
	}
	return nil
}
