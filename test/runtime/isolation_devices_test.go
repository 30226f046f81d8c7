package runtime_test

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A device node the config creates is not thereby allowed: access comes
// from linux.resources.devices (and the default allow-list) alone.
func TestDeviceNodeDeniedByCgroup(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		out := e.runOut([]string{"sh", "-c", "test -c /dev/kmsg && echo node; echo x > /dev/kmsg 2>/dev/null && echo kmsg-writable || echo kmsg-denied"}, func(s *specs.Spec) {
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11, FileMode: ptr(os.FileMode(0o666))})
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: "rwm"})
		})
		if out != "node\nkmsg-denied\n" {
			t.Fatalf("got %q, want the node created and denied", out)
		}
	})
}
