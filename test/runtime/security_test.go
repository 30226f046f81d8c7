package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// capNumbers are the capabilities these tests use, by number.
var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21,
}

// capMask is the /proc/PID/status hex mask of a set of capabilities.
func capMask(caps ...string) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << capNumbers[c]
	}
	return fmt.Sprintf("%016x", m)
}

// capStatus reads the capability lines of /proc/self/status in a
// container as "CapInh CapPrm CapEff CapBnd CapAmb".
const capStatus = "grep ^Cap /proc/self/status | cut -f2 | tr '\\n' ' '"

func TestCapabilitiesMatchSpec(t *testing.T) {
	e := newEnv(t)
	three := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	two := []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
	cases := []struct {
		name string
		uid  uint32
		caps *specs.LinuxCapabilities
		want []string // CapInh CapPrm CapEff CapBnd CapAmb
	}{
		{"root", 0, &specs.LinuxCapabilities{Bounding: three, Effective: three, Permitted: three},
			[]string{capMask(), capMask(three...), capMask(three...), capMask(three...), capMask()}},
		{"root-no-caps", 0, &specs.LinuxCapabilities{},
			[]string{capMask(), capMask(), capMask(), capMask(), capMask()}},
		{"uid1000-ambient", 1000, &specs.LinuxCapabilities{Bounding: two, Effective: two, Permitted: two, Inheritable: two, Ambient: two},
			[]string{capMask(two...), capMask(two...), capMask(two...), capMask(two...), capMask(two...)}},
		{"uid1000-no-ambient", 1000, &specs.LinuxCapabilities{Bounding: two, Effective: two, Permitted: two, Inheritable: two},
			[]string{capMask(two...), capMask(), capMask(), capMask(two...), capMask()}},
	}
	for _, c := range cases {
		b := e.bundle([]string{"sh", "-c", capStatus}, func(s *specs.Spec) {
			s.Process.User = specs.User{UID: c.uid, GID: c.uid}
			s.Process.Capabilities = c.caps
		})
		got := strings.Fields(e.runBundle(b))
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: CapInh CapPrm CapEff CapBnd CapAmb = %v, want %v", c.name, got, c.want)
		}
	}
	// An exec'd process gets the capabilities of its own process.json.
	b := e.bundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must("run", "-d", "--bundle", b, id)
	out := e.must("exec", "--cap", "CAP_SYS_ADMIN", id, "sh", "-c", capStatus)
	f := strings.Fields(out)
	var eff, bnd uint64
	if len(f) != 5 {
		t.Fatalf("exec'd process capabilities %q", out)
	}
	fmt.Sscanf(f[2], "%x", &eff)
	fmt.Sscanf(f[3], "%x", &bnd)
	if eff&(1<<21) == 0 || bnd&(1<<21) == 0 || eff != bnd {
		t.Fatalf("exec --cap CAP_SYS_ADMIN: CapEff %s CapBnd %s", f[2], f[3])
	}
}

// A config asking for an AppArmor profile that is not loaded or an
// SELinux label the policy lacks, or for either on a host without that LSM
// (like this VM), must fail naming it instead of running unconfined: lsm
// names the profile or label in both refusals, so this holds with or
// without the LSMs.
func TestLSMUnavailable(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		mod  func(*specs.Spec)
		want string
	}{
		{func(s *specs.Spec) { s.Process.ApparmorProfile = "berth-test-profile" }, `apparmor profile "berth-test-profile"`},
		{func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:berth_test_t:s0" }, `selinux label "system_u:system_r:berth_test_t:s0"`},
		{func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:berth_test_file_t:s0" }, `selinux label "system_u:object_r:berth_test_file_t:s0"`},
	} {
		b := e.bundle([]string{"true"}, c.mod)
		e.createFails(b, c.want)
	}
	// exec asks for the same checks.
	b := e.bundle([]string{"sleep", "300"}, nil)
	id := e.id()
	e.must("run", "-d", "--bundle", b, id)
	e.fails(`apparmor profile "berth-test-profile"`, "exec", "--apparmor", "berth-test-profile", id, "true")
}
