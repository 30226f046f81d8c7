//go:build cgo

package seccomp

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// buildOne compiles pl for the given architectures as one libseccomp
// filter and exports its BPF.
func buildOne(pl plan, arches []libseccomp.ScmpArch) ([]byte, error) {
	f, err := libseccomp.NewFilter(pl.defAct)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer f.Release()
	// A binary tree over syscall numbers, not a chain of one comparison
	// each: the kernel runs the filter at every syscall and, installing
	// it, emulates it for every syscall number (its action cache), which
	// for the default profile's chain took 0.9 ms of each start. A
	// libseccomp older than 2.5 refuses the level and builds the chain.
	_ = f.SetOptimize(2)
	native := pl.arches[0]
	keepNative := false
	for _, a := range arches {
		if a == native {
			keepNative = true
			continue
		}
		if err := f.AddArch(a); err != nil {
			return nil, fmt.Errorf("%w: architecture %s not supported by libseccomp: %v", ErrInvalid, a, err)
		}
	}
	if !keepNative {
		if err := f.RemoveArch(native); err != nil {
			return nil, fmt.Errorf("remove native architecture %s: %w", native, err)
		}
	}
	for _, r := range pl.rules {
		if err := addRule(f, r.call, r.act, r.conds, r.split); err != nil {
			return nil, fmt.Errorf("add rule for %s: %w", r.name, err)
		}
	}
	return exportBPF(f)
}

// buildSplit compiles each architecture separately, in parallel, and
// stitches the programs together; if the programs do not have the shape
// stitch expects it falls back to one filter for all architectures
// (without the ENOSYS guard).
func buildSplit(pl plan) ([]byte, error) {
	if len(pl.arches) == 1 && !pl.enosys {
		return buildOne(pl, pl.arches)
	}
	warmUp.Do(probeKernelSupport)
	parts := make([]subProgram, len(pl.arches))
	errs := make([]error, len(pl.arches))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, a := range pl.arches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := buildOne(pl, []libseccomp.ScmpArch{a})
			parts[i], errs[i] = subProgram{x32: a == libseccomp.ArchX32, bpf: b}, err
			if pl.enosys {
				parts[i].maxNr = maxSyscall(pl.names, a)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if b, err := stitch(parts); err == nil {
		return b, nil
	}
	return buildOne(pl, pl.arches)
}

// maxSyscall returns the highest number any of names has on arch, or 0.
func maxSyscall(names []string, arch libseccomp.ScmpArch) uint32 {
	var m uint32
	for _, n := range names {
		c, err := libseccomp.GetSyscallFromNameByArch(n, arch)
		if err != nil || int32(c) < 0 {
			continue // unknown, or a pseudo-syscall absent on arch
		}
		m = max(m, uint32(c))
	}
	return m
}

// warmUp guards probeKernelSupport.
var warmUp sync.Once

// probeKernelSupport builds and exports, once, a filter using every
// action, so that libseccomp's lazily filled global knowledge of what the
// kernel supports (API level, flags, actions) is settled before filters
// are built concurrently. Errors are ignored: the real build reports its
// own.
func probeKernelSupport() {
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return
	}
	defer f.Release()
	_, _ = libseccomp.GetAPI()
	call, err := libseccomp.GetSyscallFromName("getpid")
	if err != nil {
		return
	}
	for i, act := range []libseccomp.ScmpAction{
		libseccomp.ActKillProcess, libseccomp.ActKillThread, libseccomp.ActTrap,
		libseccomp.ActErrno.SetReturnCode(1), libseccomp.ActTrace.SetReturnCode(1),
		libseccomp.ActLog, libseccomp.ActNotify,
	} {
		c, err := libseccomp.MakeCondition(0, libseccomp.CompareEqual, uint64(i))
		if err != nil {
			return
		}
		_ = f.AddRuleConditional(call, act, []libseccomp.ScmpCondition{c})
	}
	_, _ = exportBPF(f)
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
