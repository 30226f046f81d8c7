//go:build cgo

package seccomp

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// argSets are syscall arguments that exercise the profiles' conditions:
// personality values, clone flags with and without namespace bits, and
// values whose upper 32 bits matter.
var argSets = [][6]uint64{
	{},
	{0x8}, {0x20000}, {0x20008}, {0xffffffff}, {0x400000},
	{0x11}, {0x10000011}, {0x20000}, {0x40000000},
	{1, 9}, {1, 15}, {100, 0}, {1<<32 | 8}, {0, 0x10000000},
}

// TestStitchMatchesOneFilter is a differential test: for every syscall
// number of every architecture, the stitched per-architecture program
// must decide exactly as libseccomp's single multi-architecture filter,
// except that under a default errno, numbers above the highest syscall
// the profile names on that architecture get ENOSYS.
func TestStitchMatchesOneFilter(t *testing.T) {
	native(t)
	priv := unprivileged()
	priv.Process.Capabilities.Bounding = append(priv.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	custom := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32},
		ListenerPath:  "/x",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActKillProcess},
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: uptr(11), Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 9, Op: specs.OpEqualTo}}},
			{Names: []string{"kill"}, Action: specs.ActTrace, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 100, Op: specs.OpGreaterEqual}}},
			{Names: []string{"personality"}, Action: specs.ActNotify, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xff00, ValueTwo: 0x2000, Op: specs.OpMaskedEqual}}},
			{Names: []string{"socket", "socketcall", "ipc", "shmget"}, Action: specs.ActLog},
			{Names: []string{"clone"}, Action: specs.ActTrap, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x10000000, Op: specs.OpGreaterThan}}},
		},
	}
	denyMost := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "close", "openat"}, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActErrno},
		},
	}
	for name, s := range map[string]*specs.LinuxSeccomp{
		"default unprivileged": DefaultProfile(unprivileged()),
		"default privileged":   DefaultProfile(priv),
		"custom":               custom,
		"deny most":            denyMost,
	} {
		pl, _, err := makePlan(s)
		if err != nil {
			t.Fatal(err)
		}
		oneBPF, err := buildOne(pl, pl.arches)
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]subProgram, len(pl.arches))
		maxNr := map[string]uint32{}
		for i, a := range pl.arches {
			b, err := buildOne(pl, pl.arches[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			parts[i] = subProgram{x32: a.String() == "x32", bpf: b}
			if pl.enosys {
				parts[i].maxNr = maxSyscall(pl.names, a)
				maxNr[a.String()] = parts[i].maxNr
			}
		}
		// wantEnosys says whether the guard turns (audit, nr) into ENOSYS.
		wantEnosys := func(audit uint32, nr uint32) bool {
			if !pl.enosys {
				return false
			}
			switch {
			case audit == auditX86_64 && nr < x32SyscallBit:
				return nr > maxNr["amd64"]
			case audit == auditX86_64 && nr < 0x80000000:
				return nr > maxNr["x32"]
			case audit == auditI386 && nr < x32SyscallBit:
				return nr > maxNr["x86"]
			}
			return false
		}
		stitched, err := stitch(parts)
		if err != nil {
			t.Fatalf("%s: stitch: %v", name, err)
		}
		one, _ := (&Program{Filter: oneBPF}).Insns()
		split, _ := (&Program{Filter: stitched}).Insns()
		checked, enosysSeen := 0, 0
		for _, arch := range []struct {
			audit uint32
			base  int32
			max   int32
		}{
			{auditX86_64, 0, 600},
			{auditX86_64, 0x40000000, 0x40000000 + 600},
			{auditI386, 0, 600},
			{0xc00000b7 /* aarch64 */, 0, 10},
		} {
			for nr := arch.base - 1; nr < arch.max; nr++ {
				for _, args := range argSets {
					c := call{nr: nr, arch: arch.audit, args: args}
					a, _, errA := run(one, c.data())
					b, _, errB := run(split, c.data())
					if wantEnosys(arch.audit, uint32(nr)) {
						a = retErrno | 38
						enosysSeen++
					}
					if errA != nil || errB != nil || a != b {
						t.Fatalf("%s: arch %#x nr %#x args %v: one filter %#x (%v), stitched %#x (%v)", name, arch.audit, nr, args, a, errA, b, errB)
					}
					checked++
				}
			}
		}
		t.Logf("%s: %d calls agree (%d by ENOSYS); %d vs %d instructions; highest syscalls %v", name, checked, enosysSeen, len(oneBPF)/8, len(stitched)/8, maxNr)
		if pl.enosys && enosysSeen == 0 {
			t.Errorf("%s: the ENOSYS guard never applied", name)
		}

		// Compile must take the stitched path, not the fallback.
		p, err := Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Filter) != string(stitched) {
			t.Errorf("%s: Compile did not return the stitched program", name)
		}
	}
}

func TestStitchRejectsOddShapes(t *testing.T) {
	ret := encodeInsns(retAllow)
	if _, err := stitch([]subProgram{{bpf: ret}}); !errors.Is(err, errShape) {
		t.Errorf("program without an arch check: %v", err)
	}
}
