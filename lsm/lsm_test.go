package lsm

import (
	"errors"
	"testing"
)

func TestFormatMountLabel(t *testing.T) {
	for _, tc := range []struct{ data, label, want string }{
		{"", "", ""},
		{"mode=755", "", "mode=755"},
		{"", "system_u:object_r:container_file_t:s0:c1,c2", `context="system_u:object_r:container_file_t:s0:c1,c2"`},
		{"mode=755,size=65536k", "u:r:t:s0", `mode=755,size=65536k,context="u:r:t:s0"`},
	} {
		got, err := FormatMountLabel(tc.data, tc.label)
		if err != nil || got != tc.want {
			t.Errorf("FormatMountLabel(%q, %q) = %q, %v; want %q", tc.data, tc.label, got, err, tc.want)
		}
	}
	for _, bad := range []string{`u:r:t:s0",nosuid`, "u:r:t\x00", "u:r:t\n"} {
		if _, err := FormatMountLabel("", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("label %q: %v, want ErrInvalid", bad, err)
		}
	}
}

func TestEmptyRequestsAreNoOps(t *testing.T) {
	for name, err := range map[string]error{
		"ApplyAppArmor":    ApplyAppArmor(""),
		"ValidateAppArmor": ValidateAppArmor(""),
		"SetExecLabel":     SetExecLabel(""),
		"ValidateSELinux":  ValidateSELinux(""),
	} {
		if err != nil {
			t.Errorf("%s(\"\") = %v", name, err)
		}
	}
}

func TestAppArmorMissing(t *testing.T) {
	if AppArmorEnabled() {
		t.Skip("apparmor is enabled on this host")
	}
	if err := ApplyAppArmor("berth-test-profile"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("ApplyAppArmor: %v, want ErrNotSupported", err)
	}
	if err := ValidateAppArmor("berth-test-profile"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("ValidateAppArmor: %v, want ErrNotSupported", err)
	}
	if err := ApplyAppArmor("bad\nname"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ApplyAppArmor of a bad name: %v, want ErrInvalid", err)
	}
}

func TestSELinuxMissing(t *testing.T) {
	if SELinuxEnabled() {
		t.Skip("selinux is enabled on this host")
	}
	label := "system_u:system_r:container_t:s0:c1,c2"
	if err := SetExecLabel(label); !errors.Is(err, ErrNotSupported) {
		t.Errorf("SetExecLabel: %v, want ErrNotSupported", err)
	}
	if err := ValidateSELinux(label); !errors.Is(err, ErrNotSupported) {
		t.Errorf("ValidateSELinux: %v, want ErrNotSupported", err)
	}
}
