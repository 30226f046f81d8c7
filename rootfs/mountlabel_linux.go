package rootfs

import (
	"fmt"

	"github.com/berth-dev/berth/lsm"
)

// labelledTypes are the filesystems that take an SELinux context= mount
// option; proc, sysfs, cgroup and bind mounts keep their own labels.
var labelledTypes = map[string]bool{"tmpfs": true, "mqueue": true, "devpts": true, "ramfs": true}

// validateMountLabel checks that linux.mountLabel, when set, can be
// applied: SELinux is enabled and the policy accepts it. A host without
// SELinux is an error, not a silently unlabelled container.
func validateMountLabel(label string) error {
	if label == "" {
		return nil
	}
	if err := lsm.ValidateSELinux(label); err != nil {
		return fmt.Errorf("linux.mountLabel: %w", err)
	}
	return nil
}

// withMountLabel returns o with the context= option for label added when
// a filesystem of type typ takes one.
func withMountLabel(o mountOpts, typ, label string) (mountOpts, error) {
	if label == "" || !labelledTypes[typ] {
		return o, nil
	}
	data, err := lsm.FormatMountLabel("", label)
	if err != nil {
		return o, fmt.Errorf("mount label for %s: %w", typ, err)
	}
	o.data = append(append([]string(nil), o.data...), data)
	return o, nil
}
