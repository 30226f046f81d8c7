//go:build cgo

package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// maxErrno is the largest errno a filter may return (MAX_ERRNO).
const maxErrno = 4095

// action maps a spec action and its errnoRet to libseccomp's action.
// ERRNO and TRACE default to EPERM when errnoRet is unset; errnoRet on
// any other action is an error.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	var act libseccomp.ScmpAction
	switch a {
	case specs.ActKill, specs.ActKillThread:
		act = libseccomp.ActKillThread
	case specs.ActKillProcess:
		act = libseccomp.ActKillProcess
	case specs.ActTrap:
		act = libseccomp.ActTrap
	case specs.ActAllow:
		act = libseccomp.ActAllow
	case specs.ActLog:
		act = libseccomp.ActLog
	case specs.ActNotify:
		act = libseccomp.ActNotify
	case specs.ActErrno, specs.ActTrace:
		ret := uint(unix.EPERM)
		if errnoRet != nil {
			ret = *errnoRet
		}
		limit := uint(maxErrno)
		if a == specs.ActTrace {
			limit = 0xffff
		}
		if ret > limit {
			return 0, fmt.Errorf("%w: errnoRet %d of %s is above %d", ErrInvalid, ret, a, limit)
		}
		act = libseccomp.ActErrno
		if a == specs.ActTrace {
			act = libseccomp.ActTrace
		}
		return act.SetReturnCode(int16(uint16(ret))), nil
	default:
		return 0, fmt.Errorf("%w: unknown seccomp action %q", ErrInvalid, a)
	}
	if errnoRet != nil {
		return 0, fmt.Errorf("%w: errnoRet is only allowed with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", ErrInvalid, a)
	}
	return act, nil
}

// operators maps the spec's comparison operators to libseccomp's.
var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// maxArgs is the number of syscall arguments seccomp can inspect.
const maxArgs = 6

// conditions converts a rule's argument checks. split reports that some
// argument is checked more than once, which libseccomp cannot express in
// one rule.
func conditions(args []specs.LinuxSeccompArg) (conds []libseccomp.ScmpCondition, split bool, err error) {
	var seen [maxArgs]bool
	for _, a := range args {
		op, ok := operators[a.Op]
		if !ok {
			return nil, false, fmt.Errorf("%w: unknown seccomp operator %q", ErrInvalid, a.Op)
		}
		if a.Index >= maxArgs {
			return nil, false, fmt.Errorf("%w: argument index %d is not below %d", ErrInvalid, a.Index, maxArgs)
		}
		if seen[a.Index] {
			split = true
		}
		seen[a.Index] = true
		var c libseccomp.ScmpCondition
		if op == libseccomp.CompareMaskedEqual {
			// The spec's value is the mask, valueTwo the expected datum.
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: argument %d %s: %v", ErrInvalid, a.Index, a.Op, err)
		}
		conds = append(conds, c)
	}
	return conds, split, nil
}

// arches maps the spec's architecture names to libseccomp's.
var arches = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86:         libseccomp.ArchX86,
	specs.ArchX86_64:      libseccomp.ArchAMD64,
	specs.ArchX32:         libseccomp.ArchX32,
	specs.ArchARM:         libseccomp.ArchARM,
	specs.ArchAARCH64:     libseccomp.ArchARM64,
	specs.ArchMIPS:        libseccomp.ArchMIPS,
	specs.ArchMIPS64:      libseccomp.ArchMIPS64,
	specs.ArchMIPS64N32:   libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL:      libseccomp.ArchMIPSEL,
	specs.ArchMIPSEL64:    libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC:         libseccomp.ArchPPC,
	specs.ArchPPC64:       libseccomp.ArchPPC64,
	specs.ArchPPC64LE:     libseccomp.ArchPPC64LE,
	specs.ArchS390:        libseccomp.ArchS390,
	specs.ArchS390X:       libseccomp.ArchS390X,
	specs.ArchPARISC:      libseccomp.ArchPARISC,
	specs.ArchPARISC64:    libseccomp.ArchPARISC64,
	specs.ArchRISCV64:     libseccomp.ArchRISCV64,
	specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K:        libseccomp.ArchM68K,
	specs.ArchSH:          libseccomp.ArchSH,
	specs.ArchSHEB:        libseccomp.ArchSHEB,
}

// archList resolves the listed architectures, native first and without
// duplicates.
func archList(list []specs.Arch) ([]libseccomp.ScmpArch, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("native seccomp architecture: %w", err)
	}
	out := []libseccomp.ScmpArch{native}
	for _, a := range list {
		arch, ok := arches[a]
		if !ok {
			return nil, fmt.Errorf("%w: unknown seccomp architecture %q", ErrInvalid, a)
		}
		if !slices.Contains(out, arch) {
			out = append(out, arch)
		}
	}
	return out, nil
}
