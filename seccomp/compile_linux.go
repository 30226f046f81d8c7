//go:build cgo

package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/berth-dev/berth/seccomp/load"
)

// notifyForbidden lists syscalls berth-init itself makes between loading
// the filter and execve (to hand the listener fd back): a NOTIFY rule on
// them would block the init forever, since no agent listens yet.
var notifyForbidden = map[string]bool{"write": true, "sendmsg": true}

// rule is one libseccomp rule to add, resolved from the spec.
type rule struct {
	name  string
	call  libseccomp.ScmpSyscall
	act   libseccomp.ScmpAction
	conds []libseccomp.ScmpCondition
	split bool
}

// plan is a validated profile, ready to be built for any set of
// architectures.
type plan struct {
	defAct libseccomp.ScmpAction
	arches []libseccomp.ScmpArch // native first, no duplicates
	rules  []rule
	// names are all syscall names the profile mentions, whatever their
	// action, and enosys asks for syscalls newer than all of them to
	// fail with ENOSYS (see subProgram.maxNr).
	names  []string
	enosys bool
}

// Compile turns s into a BPF program. The native architecture is always
// included. Syscall names libseccomp does not know are ignored, as runc
// does, so one profile serves kernels and libraries of several ages; an
// unknown action, operator, architecture or flag is an error wrapping
// ErrInvalid. A nil s yields a nil Program (no filter).
//
// With several architectures, each is compiled on its own, in parallel,
// and the programs are joined behind an architecture dispatch (see
// stitch): libseccomp's cost grows much faster than linearly with the
// number of architectures in one filter. When the default action is
// SCMP_ACT_ERRNO, syscalls numbered above every syscall the profile
// names (on that architecture) fail with ENOSYS rather than the default
// errno, as with runc, so that libc falls back from syscalls newer than
// the profile.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	flags, err := ParseFlags(s.Flags)
	if err != nil {
		return nil, err
	}
	pl, needsNotify, err := makePlan(s)
	if err != nil {
		return nil, err
	}
	if needsNotify && s.ListenerPath == "" {
		return nil, fmt.Errorf("%w: SCMP_ACT_NOTIFY needs a listenerPath", ErrInvalid)
	}
	if !needsNotify && flags&load.FlagWaitKillableRecv != 0 {
		return nil, fmt.Errorf("%w: %s needs an SCMP_ACT_NOTIFY rule", ErrInvalid, specs.LinuxSeccompFlagWaitKillableRecv)
	}
	bpf, err := buildSplit(pl)
	if err != nil {
		return nil, err
	}
	return &Program{
		Filter:           bpf,
		Flags:            flags,
		NeedsNotify:      needsNotify,
		ListenerPath:     s.ListenerPath,
		ListenerMetadata: s.ListenerMetadata,
	}, nil
}

// makePlan validates s and resolves its architectures and rules.
func makePlan(s *specs.LinuxSeccomp) (pl plan, needsNotify bool, err error) {
	if s.DefaultAction == specs.ActNotify {
		return plan{}, false, fmt.Errorf("%w: SCMP_ACT_NOTIFY cannot be the default action", ErrInvalid)
	}
	if pl.defAct, err = action(s.DefaultAction, s.DefaultErrnoRet); err != nil {
		return plan{}, false, fmt.Errorf("default action: %w", err)
	}
	if pl.arches, err = archList(s.Architectures); err != nil {
		return plan{}, false, err
	}
	// A deny-by-errno profile would hand a syscall newer than itself the
	// default errno (EPERM for Docker's), and libc only falls back to an
	// older call on ENOSYS.
	pl.enosys = s.DefaultAction == specs.ActErrno
	for i, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return plan{}, false, fmt.Errorf("syscalls[%d] %v: %w", i, sc.Names, err)
		}
		conds, split, err := conditions(sc.Args)
		if err != nil {
			return plan{}, false, fmt.Errorf("syscalls[%d] %v: %w", i, sc.Names, err)
		}
		if sc.Action == specs.ActNotify {
			needsNotify = true
			for _, n := range sc.Names {
				if notifyForbidden[n] {
					return plan{}, false, fmt.Errorf("%w: SCMP_ACT_NOTIFY cannot be used for %q, which the runtime needs", ErrInvalid, n)
				}
			}
		}
		pl.names = append(pl.names, sc.Names...)
		if act == pl.defAct {
			// libseccomp refuses rules that repeat the default action;
			// they change nothing anyway.
			continue
		}
		for _, name := range sc.Names {
			call, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // unknown to libseccomp: ignored like runc does
			}
			pl.rules = append(pl.rules, rule{name: name, call: call, act: act, conds: conds, split: split})
		}
	}
	return pl, needsNotify, nil
}
