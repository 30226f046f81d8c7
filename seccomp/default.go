package seccomp

import (
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// errnoEPERM and errnoENOSYS are the errno values the default profile
// returns (kept here so this file needs no cgo or x/sys).
const (
	errnoEPERM  uint = 1
	errnoENOSYS uint = 38
)

// cloneNamespaceFlags are the clone flags that create namespaces:
// CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
// CLONE_NEWPID and CLONE_NEWNET.
const cloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

// DefaultProfile returns a profile as strict as Docker's default: every
// syscall not listed fails with EPERM; the common allow list; syscalls
// that only make sense with a capability are allowed only when s's
// bounding set holds it; without CAP_SYS_ADMIN, clone may not create
// namespaces and clone3 (whose flags seccomp cannot inspect) fails with
// ENOSYS so libc falls back to clone; personality is limited to the
// harmless personas. The architectures are those the host can run.
func DefaultProfile(s *specs.Spec) *specs.LinuxSeccomp {
	has := boundingOf(s)
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: ptr(errnoEPERM),
		Architectures:   archesFor(runtime.GOARCH),
	}
	allow := func(names ...string) {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: names, Action: specs.ActAllow})
	}
	allow(defaultAllow...)
	for _, persona := range []uint64{0x0, 0x0008, 0x20000, 0x20008, 0xffffffff} {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:  []string{"personality"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Value: persona, Op: specs.OpEqualTo}},
		})
	}
	allow(archAllow[runtime.GOARCH]...)
	for _, c := range capAllow {
		if has[c.cap] {
			allow(c.names...)
		}
	}
	if !has["CAP_SYS_ADMIN"] {
		// Clone's flags are argument 0, except on s390 where the stack
		// pointer comes first.
		idx := uint(0)
		if runtime.GOARCH == "s390x" {
			idx = 1
		}
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:  []string{"clone"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: idx, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual}},
		}, specs.LinuxSyscall{
			Names:    []string{"clone3"},
			Action:   specs.ActErrno,
			ErrnoRet: ptr(errnoENOSYS),
		})
	}
	return p
}

func ptr(v uint) *uint { return &v }

// boundingOf returns the capabilities in s's bounding set.
func boundingOf(s *specs.Spec) map[string]bool {
	has := map[string]bool{}
	if s == nil || s.Process == nil || s.Process.Capabilities == nil {
		return has
	}
	for _, c := range s.Process.Capabilities.Bounding {
		has[c] = true
	}
	return has
}

// archesFor lists the seccomp architectures a host of the Go
// architecture goarch runs natively or in compat mode.
func archesFor(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	case "mips64":
		return []specs.Arch{specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPS}
	case "mips64le":
		return []specs.Arch{specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchMIPSEL}
	case "mips":
		return []specs.Arch{specs.ArchMIPS}
	case "mipsle":
		return []specs.Arch{specs.ArchMIPSEL}
	case "ppc64":
		return []specs.Arch{specs.ArchPPC64, specs.ArchPPC}
	case "ppc64le":
		return []specs.Arch{specs.ArchPPC64LE}
	case "s390x":
		return []specs.Arch{specs.ArchS390X, specs.ArchS390}
	case "riscv64":
		return []specs.Arch{specs.ArchRISCV64}
	case "loong64":
		return []specs.Arch{specs.ArchLOONGARCH64}
	}
	return nil
}
