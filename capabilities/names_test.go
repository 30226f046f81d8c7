package capabilities

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cap
	}{
		{"CAP_CHOWN", 0},
		{"CAP_SYS_ADMIN", 21},
		{"cap_net_bind_service", 10},
		{"SYS_PTRACE", 19},
		{"CAP_CHECKPOINT_RESTORE", 40},
		{"CAP_BPF", 39},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "CAP_", "CAP_SYS_ADMINX", "CAP_41", "NOPE"} {
		if _, err := Parse(bad); !errors.Is(err, ErrUnknown) {
			t.Errorf("Parse(%q) error = %v; want ErrUnknown", bad, err)
		}
	}
}

func TestNamesRoundTrip(t *testing.T) {
	all := Names()
	if len(all) != int(Last)+1 {
		t.Fatalf("Names() has %d entries, want %d", len(all), Last+1)
	}
	for i, n := range all {
		c, err := Parse(n)
		if err != nil || c != Cap(i) || c.String() != n {
			t.Errorf("round trip of %s: %d %v", n, c, err)
		}
	}
	if s := Cap(50).String(); s != "CAP_50" {
		t.Errorf("Cap(50).String() = %q", s)
	}
}

func TestSet(t *testing.T) {
	s, err := ParseList([]string{"CAP_KILL", "CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"})
	if err != nil {
		t.Fatal(err)
	}
	if want := Set(1<<0 | 1<<5 | 1<<40); s != want {
		t.Fatalf("set = %#x, want %#x", uint64(s), uint64(want))
	}
	got := s.Names()
	if len(got) != 3 || got[0] != "CAP_CHOWN" || got[1] != "CAP_KILL" || got[2] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("Names() = %v", got)
	}
	if UpTo(40) != Set(1<<41-1) || UpTo(63) != ^Set(0) {
		t.Errorf("UpTo wrong: %#x", uint64(UpTo(40)))
	}
	if _, err := ParseList([]string{"CAP_KILL", "CAP_BOGUS"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("ParseList with a bad name: %v", err)
	}
}

func TestResolve(t *testing.T) {
	c := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"},
		Effective:   []string{"CAP_CHOWN"},
		Permitted:   []string{"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"},
		Inheritable: nil,
		Ambient:     []string{"CAP_CHOWN"},
	}
	// A host whose kernel stops at CAP_AUDIT_READ (37) knows neither
	// CAP_BPF nor CAP_CHECKPOINT_RESTORE.
	// CAP_CHOWN is ambient but not inheritable: the kernel would refuse
	// to raise it, so it is left out of Ambient.
	s, warnings := Resolve(c, 37)
	if s.Bounding != 1 || s.Effective != 1 || s.Permitted != 1 || s.Inheritable != 0 || s.Ambient != 0 {
		t.Errorf("sets = %+v", s)
	}
	want := []string{"ignoring unknown or unavailable capabilities: [CAP_BPF CAP_CHECKPOINT_RESTORE]"}
	if fmt.Sprint(warnings) != fmt.Sprint(want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	// Names nobody knows are ignored the same way, as runc does.
	s, warnings = Resolve(&specs.LinuxCapabilities{Permitted: []string{"CAP_FLY", "kill"}, Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL", "CAP_FLY"}}, 40)
	if s.Permitted != 1<<5 || s.Ambient != 1<<5 || len(warnings) != 1 || !strings.Contains(warnings[0], "[CAP_FLY]") {
		t.Errorf("unknown name: sets %+v, warnings %q", s, warnings)
	}
	if s, w := Resolve(nil, 40); w != nil || s != (Sets{}) {
		t.Errorf("nil caps: %+v %v", s, w)
	}
}
