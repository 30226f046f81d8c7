package lsm

import (
	"fmt"
	"strings"
)

// FormatMountLabel returns mount data with the SELinux context option
// for label added, e.g. `mode=755,context="system_u:object_r:container_file_t:s0:c1,c2"`.
// The label is quoted because MLS categories contain commas. An empty
// label returns data unchanged.
func FormatMountLabel(data, label string) (string, error) {
	if label == "" {
		return data, nil
	}
	if err := checkLabel(label); err != nil {
		return "", err
	}
	opt := `context="` + label + `"`
	if data == "" {
		return opt, nil
	}
	return data + "," + opt, nil
}

// checkLabel refuses labels that could break out of the mount option or
// attr file they are written to.
func checkLabel(label string) error {
	if strings.ContainsAny(label, "\"\x00\n") {
		return fmt.Errorf("selinux label %q: %w", label, ErrInvalid)
	}
	return nil
}
