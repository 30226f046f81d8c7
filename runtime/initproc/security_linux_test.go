package initproc

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestFilterAllows(t *testing.T) {
	rule := func(a specs.LinuxSeccompAction, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{"read", "prlimit64"}, Action: a, Args: args}
	}
	arg := specs.LinuxSeccompArg{Index: 0, Value: 0, Op: specs.OpEqualTo}
	for _, tc := range []struct {
		name string
		s    *specs.LinuxSeccomp
		want bool
	}{
		{"no filter", nil, true},
		{"default allow", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, true},
		{"default log", &specs.LinuxSeccomp{DefaultAction: specs.ActLog}, true},
		{"default errno", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}, false},
		{"allowed by a rule", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{rule(specs.ActAllow)}}, true},
		{"allowed only with an argument", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{rule(specs.ActAllow, arg)}}, false},
		{"denied by a rule", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{rule(specs.ActErrno)}}, false},
		{"denied for an argument", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{rule(specs.ActKill, arg)}}, false},
		{"notified", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{rule(specs.ActNotify)}}, false},
	} {
		if got := filterAllows(tc.s, "prlimit64"); got != tc.want {
			t.Errorf("%s: filterAllows = %v, want %v", tc.name, got, tc.want)
		}
	}
}
