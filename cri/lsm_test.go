package cri

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestAppArmorProfile(t *testing.T) {
	rd := &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	un := &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	lh := &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "localhost/mine"}
	for _, c := range []struct {
		name                string
		sp                  *runtimeapi.SecurityProfile
		deprecated          string
		privileged, enabled bool
		want, err           string
	}{
		{name: "none, enabled", enabled: true, want: "def"},
		{name: "none, disabled"},
		{name: "default", sp: rd, enabled: true, want: "def"},
		{name: "default, privileged", sp: rd, enabled: true, privileged: true},
		{name: "default, disabled", sp: rd},
		{name: "unconfined", sp: un, enabled: true},
		{name: "localhost", sp: lh, enabled: true, want: "mine"},
		{name: "localhost, privileged", sp: lh, enabled: true, privileged: true, want: "mine"},
		{name: "localhost, disabled", sp: lh, err: `"mine": AppArmor is not enabled`},
		{name: "localhost without a name", sp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost}, enabled: true, err: "names no profile"},
		{name: "deprecated default", deprecated: "runtime/default", enabled: true, want: "def"},
		{name: "deprecated unconfined", deprecated: "unconfined", enabled: true},
		{name: "deprecated localhost", deprecated: "localhost/mine", enabled: true, want: "mine"},
		{name: "deprecated localhost, disabled", deprecated: "localhost/mine", err: "not enabled"},
		{name: "deprecated unknown", deprecated: "mine", enabled: true, err: `"mine"`},
		{name: "new field first", sp: un, deprecated: "localhost/mine", enabled: true},
	} {
		got, err := appArmorProfile(c.sp, c.deprecated, c.privileged, c.enabled, "def")
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, errdefs.ErrInvalidArgument)):
			t.Errorf("%s: %q, %v; want an invalid-argument error with %q", c.name, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestSELinuxLabels(t *testing.T) {
	for _, c := range []struct {
		base           string
		o              *runtimeapi.SELinuxOption
		process, mount string
		err            bool
	}{
		{"", nil, "system_u:system_r:container_t:s0", "system_u:object_r:container_file_t:s0", false},
		{"system_u:system_r:container_t:s0:c1,c2", &runtimeapi.SELinuxOption{Type: "spc_t"},
			"system_u:system_r:spc_t:s0:c1,c2", "system_u:object_r:container_file_t:s0:c1,c2", false},
		{"", &runtimeapi.SELinuxOption{User: "u", Role: "r", Type: "t", Level: "s0:c3"}, "u:r:t:s0:c3", "u:object_r:container_file_t:s0:c3", false},
		{"", &runtimeapi.SELinuxOption{Type: "a:b"}, "", "", true},
		{"", &runtimeapi.SELinuxOption{Level: `s0",x`}, "", "", true},
		{"nolevel", nil, "", "", true},
	} {
		p, m, err := selinuxLabels(c.base, c.o)
		if (err != nil) != c.err || p != c.process || m != c.mount {
			t.Errorf("selinuxLabels(%q, %v) = %q, %q, %v; want %q, %q, error %v", c.base, c.o, p, m, err, c.process, c.mount, c.err)
		}
	}
	if l, err := podSELinuxLevel(&runtimeapi.SELinuxOption{Level: "s0:c9"}); l != "s0:c9" || err != nil {
		t.Errorf("a pod's own level: %q, %v", l, err)
	}
	re := regexp.MustCompile(`^s0:c(\d+),c(\d+)$`)
	for range 50 {
		l, err := podSELinuxLevel(nil)
		m := re.FindStringSubmatch(l)
		if err != nil || m == nil || len(m[1]) > 4 || m[1] == m[2] {
			t.Fatalf("a random pod level: %q, %v; want two distinct categories", l, err)
		}
	}
}

func TestAppArmorDefaultProfile(t *testing.T) {
	p := string(appArmorDefaultProfile("berth-x"))
	for _, want := range []string{"profile berth-x flags=", "deny mount,", "peer=berth-x", "deny @{PROC}/sysrq-trigger", "#include <abstractions/base>"} {
		if !strings.Contains(p, want) {
			t.Errorf("default profile lacks %q:\n%s", want, p)
		}
	}
	if strings.Count(p, "{") != strings.Count(p, "}") {
		t.Errorf("default profile's braces do not balance:\n%s", p)
	}
}
