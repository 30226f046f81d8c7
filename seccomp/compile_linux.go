//go:build cgo

package seccomp

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/seccomp/load"
)

// notifyForbidden lists syscalls berth-init itself makes between loading
// the filter and execve (to hand the listener fd back): a NOTIFY rule on
// them would block the init forever, since no agent listens yet.
var notifyForbidden = map[string]bool{"write": true, "sendmsg": true}

// Compile turns s into a BPF program. The native architecture is always
// included. Syscall names libseccomp does not know are ignored, as runc
// does, so one profile serves kernels and libraries of several ages; an
// unknown action, operator, architecture or flag is an error wrapping
// ErrInvalid. A nil s yields a nil Program (no filter).
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	flags, err := ParseFlags(s.Flags)
	if err != nil {
		return nil, err
	}
	if s.DefaultAction == specs.ActNotify {
		return nil, fmt.Errorf("%w: SCMP_ACT_NOTIFY cannot be the default action", ErrInvalid)
	}
	defAct, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("default action: %w", err)
	}
	f, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer f.Release()
	if err := addArches(f, s.Architectures); err != nil {
		return nil, err
	}
	needsNotify := false
	for i, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d] %v: %w", i, sc.Names, err)
		}
		conds, split, err := conditions(sc.Args)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d] %v: %w", i, sc.Names, err)
		}
		if sc.Action == specs.ActNotify {
			needsNotify = true
			for _, n := range sc.Names {
				if notifyForbidden[n] {
					return nil, fmt.Errorf("%w: SCMP_ACT_NOTIFY cannot be used for %q, which the runtime needs", ErrInvalid, n)
				}
			}
		}
		if act == defAct {
			// libseccomp refuses rules that repeat the default action;
			// they change nothing anyway.
			continue
		}
		for _, name := range sc.Names {
			call, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // unknown to libseccomp: ignored like runc does
			}
			if err := addRule(f, call, act, conds, split); err != nil {
				return nil, fmt.Errorf("add rule for %s (%s): %w", name, sc.Action, err)
			}
		}
	}
	if needsNotify && s.ListenerPath == "" {
		return nil, fmt.Errorf("%w: SCMP_ACT_NOTIFY needs a listenerPath", ErrInvalid)
	}
	if !needsNotify && flags&load.FlagWaitKillableRecv != 0 {
		return nil, fmt.Errorf("%w: %s needs an SCMP_ACT_NOTIFY rule", ErrInvalid, specs.LinuxSeccompFlagWaitKillableRecv)
	}
	bpf, err := exportBPF(f)
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

// addRule adds call with its conditions, all in one rule (they must all
// match) unless split, when each condition gets a rule of its own: that
// is how runc treats several conditions on the same argument, which
// libseccomp cannot combine.
func addRule(f *libseccomp.ScmpFilter, call libseccomp.ScmpSyscall, act libseccomp.ScmpAction, conds []libseccomp.ScmpCondition, split bool) error {
	switch {
	case len(conds) == 0:
		return f.AddRule(call, act)
	case split:
		for _, c := range conds {
			if err := f.AddRuleConditional(call, act, []libseccomp.ScmpCondition{c}); err != nil {
				return err
			}
		}
		return nil
	default:
		return f.AddRuleConditional(call, act, conds)
	}
}

// exportBPF writes the filter's BPF into a memfd and reads it back:
// libseccomp only exports to a file descriptor.
func exportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("berth-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for seccomp export: %w", err)
	}
	file := os.NewFile(uintptr(fd), "berth-seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export seccomp bpf: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind seccomp bpf: %w", err)
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("read seccomp bpf: %w", err)
	}
	return b, nil
}
