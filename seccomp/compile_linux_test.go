//go:build cgo

package seccomp

import (
	"encoding/json"
	"errors"
	"runtime"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/seccomp/load"
)

// native returns the audit architecture of the test host, skipping the
// test on hosts the evaluator tests do not model.
func native(t *testing.T) uint32 {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("BPF evaluation tests model amd64 only")
	}
	return auditX86_64
}

func uptr(v uint) *uint { return &v }

func mustCompile(t *testing.T, s *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompileActions(t *testing.T) {
	arch := native(t)
	for _, tc := range []struct {
		act   specs.LinuxSeccompAction
		errno *uint
		want  uint32
	}{
		{specs.ActKill, nil, retKillThread},
		{specs.ActKillThread, nil, retKillThread},
		{specs.ActKillProcess, nil, retKillProcess},
		{specs.ActTrap, nil, retTrap},
		{specs.ActErrno, nil, retErrno | uint32(unix.EPERM)},
		{specs.ActErrno, uptr(38), retErrno | 38},
		{specs.ActTrace, nil, retTrace | uint32(unix.EPERM)},
		{specs.ActTrace, uptr(7), retTrace | 7},
		{specs.ActLog, nil, retLog},
		{specs.ActNotify, nil, retNotify},
	} {
		s := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			ListenerPath:  "/run/berth-test-agent.sock",
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: tc.act, ErrnoRet: tc.errno}},
		}
		p := mustCompile(t, s)
		if got := eval(t, p, call{nr: unix.SYS_MKDIR, arch: arch}); got != tc.want {
			t.Errorf("%s: mkdir -> %#x, want %#x", tc.act, got, tc.want)
		}
		if got := eval(t, p, call{nr: unix.SYS_MKDIRAT, arch: arch}); got != tc.want {
			t.Errorf("%s: mkdirat -> %#x, want %#x", tc.act, got, tc.want)
		}
		if got := eval(t, p, call{nr: unix.SYS_GETPID, arch: arch}); got != retAllow {
			t.Errorf("%s: getpid -> %#x, want allow", tc.act, got)
		}
		if p.NeedsNotify != (tc.act == specs.ActNotify) {
			t.Errorf("%s: NeedsNotify = %v", tc.act, p.NeedsNotify)
		}
	}
}

func TestCompileDefaultErrno(t *testing.T) {
	arch := native(t)
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uptr(uint(unix.ENOSYS)),
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActAllow},
			// Same as the default: skipped rather than refused.
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.ENOSYS))},
			// An unknown name is ignored, a known one next to it is not.
			{Names: []string{"berth_no_such_syscall", "getppid"}, Action: specs.ActAllow},
		},
	})
	if got := eval(t, p, call{nr: unix.SYS_GETPID, arch: arch}); got != retAllow {
		t.Errorf("getpid -> %#x", got)
	}
	if got := eval(t, p, call{nr: unix.SYS_GETPPID, arch: arch}); got != retAllow {
		t.Errorf("getppid -> %#x", got)
	}
	if got := eval(t, p, call{nr: unix.SYS_MKDIR, arch: arch}); got != retErrno|uint32(unix.ENOSYS) {
		t.Errorf("mkdir -> %#x", got)
	}
	// Without defaultErrnoRet, ERRNO means EPERM.
	p = mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno})
	if got := eval(t, p, call{nr: unix.SYS_GETPID, arch: arch}); got != retErrno|uint32(unix.EPERM) {
		t.Errorf("default errno -> %#x", got)
	}
}

func TestCompileEnosysForNewerSyscalls(t *testing.T) {
	arch := native(t)
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}},
	})
	for nr, want := range map[int32]uint32{
		unix.SYS_READ:   retAllow,
		unix.SYS_WRITE:  retAllow,
		unix.SYS_CLOSE:  retErrno | 38, // above write, the profile's newest
		unix.SYS_CLONE3: retErrno | 38,
	} {
		if got := eval(t, p, call{nr: nr, arch: arch}); got != want {
			t.Errorf("syscall %d: %#x, want %#x", nr, got, want)
		}
	}
	// Only a default errno gets the guard: with KILL_PROCESS newer
	// syscalls are killed like any other.
	p = mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActKillProcess,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}},
	})
	if got := eval(t, p, call{nr: unix.SYS_CLONE3, arch: arch}); got != retKillProcess {
		t.Errorf("clone3 under a kill default: %#x", got)
	}
}

func TestCompileOperators(t *testing.T) {
	arch := native(t)
	nr := int32(unix.SYS_PERSONALITY)
	for _, tc := range []struct {
		op        specs.LinuxSeccompOperator
		val, val2 uint64
		match     []uint64
		miss      []uint64
	}{
		{specs.OpEqualTo, 8, 0, []uint64{8}, []uint64{0, 7, 9, 1<<32 | 8}},
		{specs.OpNotEqual, 8, 0, []uint64{0, 9, 1<<32 | 8}, []uint64{8}},
		{specs.OpLessThan, 8, 0, []uint64{0, 7}, []uint64{8, 9, 1 << 40}},
		{specs.OpLessEqual, 8, 0, []uint64{0, 8}, []uint64{9, 1 << 40}},
		{specs.OpGreaterThan, 8, 0, []uint64{9, 1 << 40}, []uint64{0, 8}},
		{specs.OpGreaterEqual, 8, 0, []uint64{8, 1 << 40}, []uint64{0, 7}},
		{specs.OpMaskedEqual, 0xff00, 0x1200, []uint64{0x1200, 0x12ff, 0x7712ab}, []uint64{0x1300, 0xff}},
	} {
		p := mustCompile(t, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"personality"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: tc.val, ValueTwo: tc.val2, Op: tc.op}},
			}},
		})
		for _, v := range tc.match {
			if got := eval(t, p, call{nr: nr, arch: arch, args: [6]uint64{v}}); got != retErrno|1 {
				t.Errorf("%s %#x: %#x should match, got %#x", tc.op, tc.val, v, got)
			}
		}
		for _, v := range tc.miss {
			if got := eval(t, p, call{nr: nr, arch: arch, args: [6]uint64{v}}); got != retAllow {
				t.Errorf("%s %#x: %#x should not match, got %#x", tc.op, tc.val, v, got)
			}
		}
	}
}

func TestCompileSeveralArgsAndRules(t *testing.T) {
	arch := native(t)
	nr := int32(unix.SYS_KILL)
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			// Both arguments must match (AND) ...
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: uptr(11), Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpEqualTo},
				{Index: 1, Value: 9, Op: specs.OpEqualTo},
			}},
			// ... and a second rule on the same syscall is an alternative (OR).
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: uptr(12), Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 100, Op: specs.OpGreaterEqual},
			}},
		},
	})
	for _, tc := range []struct {
		a0, a1 uint64
		want   uint32
	}{
		{1, 9, retErrno | 11},
		{1, 15, retAllow},
		{2, 9, retAllow},
		{100, 0, retErrno | 12},
		{500, 9, retErrno | 12},
	} {
		if got := eval(t, p, call{nr: nr, arch: arch, args: [6]uint64{tc.a0, tc.a1}}); got != tc.want {
			t.Errorf("kill(%d, %d) -> %#x, want %#x", tc.a0, tc.a1, got, tc.want)
		}
	}

	// Two checks of the same argument become separate rules, as in runc.
	p = mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 1, Value: 9, Op: specs.OpEqualTo},
			{Index: 1, Value: 15, Op: specs.OpEqualTo},
		}}},
	})
	for sig, want := range map[uint64]uint32{9: retErrno | 1, 15: retErrno | 1, 2: retAllow} {
		if got := eval(t, p, call{nr: nr, arch: arch, args: [6]uint64{0, sig}}); got != want {
			t.Errorf("kill(0, %d) -> %#x, want %#x", sig, got, want)
		}
	}
}

func TestCompileArchitectures(t *testing.T) {
	arch := native(t)
	const i386Mkdir = 39
	only := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	})
	// The native architecture is there without being asked for; others
	// are not and get the bad-architecture action (kill).
	if got := eval(t, only, call{nr: unix.SYS_MKDIR, arch: arch}); got != retErrno|1 {
		t.Errorf("native mkdir -> %#x", got)
	}
	if got := eval(t, only, call{nr: i386Mkdir, arch: auditI386}); got == retAllow || got == retErrno|1 {
		t.Errorf("i386 call without the arch -> %#x, want a kill", got)
	}
	multi := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchX86},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	})
	if got := eval(t, multi, call{nr: i386Mkdir, arch: auditI386}); got != retErrno|1 {
		t.Errorf("i386 mkdir -> %#x", got)
	}
	if got := eval(t, multi, call{nr: 0x40000000 | unix.SYS_MKDIR, arch: arch}); got != retErrno|1 {
		t.Errorf("x32 mkdir -> %#x", got)
	}
}

func TestCompileFlagsAndListener(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		Flags:            []specs.LinuxSeccompFlag{FlagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagWaitKillableRecv},
		ListenerPath:     "/run/berth-test.sock",
		ListenerMetadata: "meta",
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
	})
	if want := load.FlagTsync | load.FlagLog | load.FlagSpecAllow | load.FlagWaitKillableRecv; p.Flags != want {
		t.Errorf("flags %#x, want %#x", p.Flags, want)
	}
	if !p.NeedsNotify || p.ListenerPath != "/run/berth-test.sock" || p.ListenerMetadata != "meta" {
		t.Errorf("program %+v", p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(b, &back); err != nil || string(back.Filter) != string(p.Filter) || back.Flags != p.Flags || !back.NeedsNotify {
		t.Fatalf("JSON round trip: %+v %v", back, err)
	}
	if p, err := Compile(nil); p != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v", p, err)
	}
}

func TestCompileInvalid(t *testing.T) {
	base := func(mod func(*specs.LinuxSeccomp)) *specs.LinuxSeccomp {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
		mod(s)
		return s
	}
	for name, s := range map[string]*specs.LinuxSeccomp{
		"unknown default action": base(func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_FLY" }),
		"empty default action":   base(func(s *specs.LinuxSeccomp) { s.DefaultAction = "" }),
		"notify default":         base(func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActNotify; s.ListenerPath = "/x" }),
		"unknown rule action":    base(func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = "SCMP_ACT_NOPE" }),
		"unknown action, unknown name": base(func(s *specs.LinuxSeccomp) {
			s.Syscalls[0] = specs.LinuxSyscall{Names: []string{"berth_nope"}, Action: "SCMP_ACT_NOPE"}
		}),
		"unknown operator": base(func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_SOMETIMES"}}
		}),
		"argument index 6": base(func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}
		}),
		"unknown arch": base(func(s *specs.LinuxSeccomp) { s.Architectures = []specs.Arch{"SCMP_ARCH_VAX"} }),
		"wait killable without notify": base(func(s *specs.LinuxSeccomp) {
			s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
		}),
		"unknown flag":            base(func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_MAGIC"} }),
		"notify without listener": base(func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActNotify }),
		"notify on write": base(func(s *specs.LinuxSeccomp) {
			s.ListenerPath = "/x"
			s.Syscalls[0] = specs.LinuxSyscall{Names: []string{"write"}, Action: specs.ActNotify}
		}),
		"errnoRet on allow": base(func(s *specs.LinuxSeccomp) {
			s.DefaultAction = specs.ActErrno
			s.Syscalls[0] = specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActAllow, ErrnoRet: uptr(1)}
		}),
		"errnoRet above MAX_ERRNO": base(func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = uptr(5000) }),
	} {
		if _, err := Compile(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// BenchmarkCompileDefaultProfile measures Compile of the default profile
// (what a container start pays without a cache) and, for comparison,
// libseccomp building all architectures as one filter.
func BenchmarkCompileDefaultProfile(b *testing.B) {
	prof := DefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: dockerCaps}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(prof); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileDefaultProfileOneFilter(b *testing.B) {
	prof := DefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: dockerCaps}}})
	pl, _, err := makePlan(prof)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := buildOne(pl, pl.arches); err != nil {
			b.Fatal(err)
		}
	}
}
