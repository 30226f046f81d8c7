package engine

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/lsm"
	"golang.org/x/sys/unix"
)

// checkLSM checks that the host can give cfg's AppArmor profile and
// SELinux labels: the module is enabled, the profile loaded, the labels
// valid in the loaded policy.
func checkLSM(cfg container.Config) error {
	if err := lsm.ValidateAppArmor(cfg.AppArmorProfile); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for _, l := range []string{cfg.SELinuxLabel, cfg.MountLabel} {
		if err := lsm.ValidateSELinux(l); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	return nil
}

// relabelBinds gives the sources of cfg's binds marked Relabel the
// container's mount label, so that its process may use them (the CRI's
// selinux_relabel; Docker's and Podman's :z). Without a mount label (a
// host without SELinux) there is nothing to do.
func relabelBinds(cfg container.Config) error {
	if cfg.MountLabel == "" {
		return nil
	}
	for _, m := range cfg.Mounts {
		if m.Type != "bind" || !m.Relabel {
			continue
		}
		if err := relabel(m.Source, cfg.MountLabel); err != nil {
			return fmt.Errorf("%w: relabel %s: %w", ErrInvalidConfig, m.Source, err)
		}
	}
	return nil
}

// relabel sets the SELinux label of root and of everything below it,
// not following symbolic links.
func relabel(root, label string) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	if err := relabelAllowed(real); err != nil {
		return err
	}
	return filepath.WalkDir(real, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return unix.Lsetxattr(p, "security.selinux", []byte(label), 0)
	})
}

// systemDirs may not be relabeled, nor may anything below those marked
// true: giving them a container's label would lock the host's own
// programs out of them.
var systemDirs = map[string]bool{
	"/": false, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": false, "/lib": true,
	"/lib32": true, "/lib64": true, "/media": false, "/mnt": false, "/opt": false, "/proc": true,
	"/root": false, "/run": false, "/sbin": true, "/srv": false, "/sys": true, "/tmp": false,
	"/usr": true, "/var": false, "/var/lib": false, "/var/log": false,
}

// relabelAllowed refuses to relabel a system directory (real is an
// absolute path without symbolic links).
func relabelAllowed(real string) error {
	for d := real; ; d = filepath.Dir(d) {
		if below, ok := systemDirs[d]; ok && (d == real || below) {
			return fmt.Errorf("%s is a system directory (%s): it may not be relabeled", real, d)
		}
		if d == "/" || !strings.HasPrefix(d, "/") {
			return nil
		}
	}
}
