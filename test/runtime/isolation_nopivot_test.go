package runtime_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// With --no-pivot the host's procfs and sysfs must not stay fully visible
// in the container's mount namespace: from a nested user namespace the
// container can then mount neither a fresh procfs nor a fresh sysfs, just
// as with pivot_root (its own are masked). With a user namespace of the
// container's own the host's mounts are locked: they get covered instead.
func TestNoPivotNestedProcMount(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		t.Cleanup(openUp(t)) // the mapped root must reach the rootfs
		for _, userns := range []bool{false, true} {
			for _, args := range [][]string{{"run"}, {"run", "--no-pivot"}} {
				b := e.probeBundle([]string{"probe", "nested-mount"}, func(s *specs.Spec) {
					// Enough to map our own root into a nested user namespace.
					withCaps(s, "CAP_SETUID", "CAP_SETGID", "CAP_SETFCAP")
					if userns {
						withUserNS(s)
					}
				})
				r := e.run(append(args, "--bundle", b, e.id())...)
				if r.code != 0 || r.out != "proc errno=1\nsysfs errno=1\n" {
					t.Errorf("%v (user namespace %v): exit %d, %q%s: want both mounts refused (EPERM)", args, userns, r.code, r.out, r.err)
				}
			}
		}
	})
}

// withUserNS gives the container a user namespace mapping its root to
// host id 100000, with the host's sysfs bound (a mapped root may not
// mount a sysfs on a rootfs owned by the unmapped host root), as
// TestUserNamespace does.
func withUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	for i, m := range s.Mounts {
		if m.Destination == "/sys" {
			s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		}
	}
	s.Linux.Resources = nil
}
