package runtime_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// With --no-pivot the host's procfs and sysfs must not stay fully visible
// in the container's mount namespace: from a nested user namespace the
// container can then mount neither a fresh procfs nor a fresh sysfs, just
// as with pivot_root (its own are masked).
func TestNoPivotNestedProcMount(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		for _, args := range [][]string{{"run"}, {"run", "--no-pivot"}} {
			b := e.probeBundle([]string{"probe", "nested-mount"}, func(s *specs.Spec) {
				// Enough to map our own root into a nested user namespace.
				withCaps(s, "CAP_SETUID", "CAP_SETGID", "CAP_SETFCAP")
			})
			r := e.run(append(args, "--bundle", b, e.id())...)
			if r.code != 0 || r.out != "proc errno=1\nsysfs errno=1\n" {
				t.Errorf("%v: exit %d, %q%s: want both mounts refused (EPERM)", args, r.code, r.out, r.err)
			}
		}
	})
}
