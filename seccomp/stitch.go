package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/seccomp/load"
)

// Classic BPF opcodes used by the architecture dispatch.
const (
	bpfLdAbsW = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJa     = 0x05 // BPF_JMP | BPF_JA
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgtK   = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfJsetK  = 0x45 // BPF_JMP | BPF_JSET | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K

	offNr   = 0 // offsetof(struct seccomp_data, nr)
	offArch = 4 // offsetof(struct seccomp_data, arch)

	x32SyscallBit = 0x40000000
	retErrnoBase  = 0x00050000 // SECCOMP_RET_ERRNO
	enosys        = 38
)

// errShape means a program is not laid out as stitch expects; the caller
// then compiles all architectures as one filter instead.
var errShape = errors.New("seccomp program has an unexpected shape")

// subProgram is one architecture's complete filter as libseccomp made it.
type subProgram struct {
	x32 bool // the x32 ABI, which shares AUDIT_ARCH_X86_64 with x86_64
	bpf []byte
	// maxNr, when not zero, is the highest syscall number the profile
	// names on this architecture (x32 numbers include the x32 bit):
	// higher numbers belong to syscalls newer than the profile, which
	// then fail with ENOSYS instead of the default errno, so that libc
	// falls back to older calls (as runc does).
	maxNr uint32
}

// archGroup collects the programs for one audit architecture.
type archGroup struct {
	audit     uint32
	main, x32 int // indexes into the parts, -1 if absent
}

// stitch joins single-architecture programs into one: a dispatch on
// seccomp_data.arch jumps to the program for that architecture (for
// AUDIT_ARCH_X86_64, the x32 bit of the syscall number picks x32 or
// x86_64), and an unknown architecture gets the programs' own bad-arch
// action. Each program still starts with its own architecture check, so
// the dispatch can only route, never widen, what a program allows; the
// one thing it decides itself is ENOSYS for syscalls above a program's
// maxNr.
func stitch(parts []subProgram) ([]byte, error) {
	progs := make([][]load.Insn, len(parts))
	var groups []archGroup
	badArch := uint32(0)
	for i, p := range parts {
		insns, err := (&load.Program{Filter: p.bpf}).Insns()
		if err != nil {
			return nil, err
		}
		// Expected opening: A = arch; if A != AUDIT then bad-arch.
		if len(insns) < 3 || insns[0] != (load.Insn{Code: bpfLdAbsW, K: offArch}) || insns[1].Code != bpfJeqK {
			return nil, fmt.Errorf("%w: no architecture check first", errShape)
		}
		bad := 2 + int(insns[1].Jf)
		if bad >= len(insns) || insns[bad].Code != bpfRetK {
			return nil, fmt.Errorf("%w: architecture check does not return", errShape)
		}
		if i == 0 {
			badArch = insns[bad].K
		} else if insns[bad].K != badArch {
			return nil, fmt.Errorf("%w: bad-architecture actions differ", errShape)
		}
		progs[i] = insns
		audit := insns[1].K
		gi := -1
		for j := range groups {
			if groups[j].audit == audit {
				gi = j
			}
		}
		if gi < 0 {
			groups = append(groups, archGroup{audit: audit, main: -1, x32: -1})
			gi = len(groups) - 1
		}
		slot := &groups[gi].main
		if p.x32 {
			slot = &groups[gi].x32
		}
		if *slot >= 0 {
			return nil, fmt.Errorf("%w: two programs for architecture %#x", errShape, audit)
		}
		*slot = i
	}

	var a assembler
	a.emit(load.Insn{Code: bpfLdAbsW, K: offArch})
	for _, g := range groups {
		next := a.newLabel()
		a.jump(load.Insn{Code: bpfJeqK, K: g.audit}, noLabel, next)
		a.emit(load.Insn{Code: bpfLdAbsW, K: offNr})
		switch {
		case g.main >= 0 && g.x32 >= 0:
			x32Path := a.newLabel()
			a.jump(load.Insn{Code: bpfJsetK, K: x32SyscallBit}, x32Path, noLabel)
			a.guardNative(parts[g.main].maxNr)
			a.ja(progLabel(g.main))
			a.place(x32Path)
			a.guardX32(parts[g.x32].maxNr)
			a.ja(progLabel(g.x32))
		case g.main >= 0:
			a.guardNative(parts[g.main].maxNr)
			a.ja(progLabel(g.main))
		default:
			a.guardX32(parts[g.x32].maxNr)
			a.ja(progLabel(g.x32))
		}
		a.place(next)
	}
	a.emit(load.Insn{Code: bpfRetK, K: badArch})
	if a.usedEnosys {
		a.place(enosysLabel)
		a.emit(load.Insn{Code: bpfRetK, K: retErrnoBase | enosys})
	}
	for i, p := range progs {
		a.place(progLabel(i))
		a.out = append(a.out, p...)
	}
	if len(a.out) > load.MaxInsns {
		return nil, fmt.Errorf("%w: %d instructions", errShape, len(a.out))
	}
	if err := a.resolve(); err != nil {
		return nil, err
	}

	b := make([]byte, 0, len(a.out)*load.InsnSize)
	for _, in := range a.out {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b, nil
}

// label names a position in the assembled program. Labels below zero
// are the sub-programs' starts; enosysLabel is the shared ENOSYS return.
type label int

const (
	noLabel     label = 0
	enosysLabel label = 1
)

func progLabel(i int) label { return label(-1 - i) }

// fixup is a jump whose offset waits for its target's position.
type fixup struct {
	at     int
	jt, jf label
	ja     label
}

// assembler lays out the dispatch with forward jumps to labels.
type assembler struct {
	out        []load.Insn
	labels     map[label]int
	fixups     []fixup
	nextLabel  label
	usedEnosys bool
}

func (a *assembler) emit(in load.Insn) { a.out = append(a.out, in) }

func (a *assembler) newLabel() label {
	if a.nextLabel <= enosysLabel {
		a.nextLabel = enosysLabel + 1
	}
	l := a.nextLabel
	a.nextLabel++
	return l
}

func (a *assembler) place(l label) {
	if a.labels == nil {
		a.labels = map[label]int{}
	}
	a.labels[l] = len(a.out)
}

// jump emits a conditional jump to jt or jf (noLabel: the next insn).
func (a *assembler) jump(in load.Insn, jt, jf label) {
	if jt == enosysLabel || jf == enosysLabel {
		a.usedEnosys = true
	}
	a.fixups = append(a.fixups, fixup{at: len(a.out), jt: jt, jf: jf})
	a.emit(in)
}

// ja emits an unconditional jump to l.
func (a *assembler) ja(l label) {
	a.fixups = append(a.fixups, fixup{at: len(a.out), ja: l})
	a.emit(load.Insn{Code: bpfJa})
}

// guard sends syscall numbers (in A) above maxNr to ENOSYS.
func (a *assembler) guard(maxNr uint32) {
	if maxNr != 0 {
		a.jump(load.Insn{Code: bpfJgtK, K: maxNr}, enosysLabel, noLabel)
	}
}

// guardNative is guard for a native number: numbers with the x32 bit or
// above it (including -1) are not syscalls of this ABI and go on to the
// program untouched, so it alone decides about them.
func (a *assembler) guardNative(maxNr uint32) {
	if maxNr == 0 {
		return
	}
	skip := a.newLabel()
	a.jump(load.Insn{Code: bpfJgeK, K: x32SyscallBit}, skip, noLabel)
	a.guard(maxNr)
	a.place(skip)
}

// guardX32 is guard for x32 numbers (which include the x32 bit); numbers
// with the top bit set (including -1) go on to the program untouched.
func (a *assembler) guardX32(maxNr uint32) {
	if maxNr == 0 {
		return
	}
	skip := a.newLabel()
	a.jump(load.Insn{Code: bpfJgeK, K: 0x80000000}, skip, noLabel)
	a.guard(maxNr)
	a.place(skip)
}

// resolve patches every jump's offset now that all labels are placed.
func (a *assembler) resolve() error {
	off := func(from int, l label) (int, error) {
		if l == noLabel {
			return 0, nil
		}
		to, ok := a.labels[l]
		if !ok || to <= from {
			return 0, fmt.Errorf("%w: unplaced or backward label %d", errShape, l)
		}
		return to - (from + 1), nil
	}
	for _, f := range a.fixups {
		in := &a.out[f.at]
		if in.Code == bpfJa {
			o, err := off(f.at, f.ja)
			if err != nil {
				return err
			}
			in.K = uint32(o)
			continue
		}
		jt, err := off(f.at, f.jt)
		if err != nil {
			return err
		}
		jf, err := off(f.at, f.jf)
		if err != nil {
			return err
		}
		if jt > 255 || jf > 255 {
			return fmt.Errorf("%w: dispatch jump too long", errShape)
		}
		in.Jt, in.Jf = uint8(jt), uint8(jf)
	}
	return nil
}
