package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/seccomp/load"
)

// Classic BPF opcodes used by the architecture dispatch.
const (
	bpfLdAbsW     = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJa         = 0x05 // BPF_JMP | BPF_JA
	bpfJeqK       = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJsetK      = 0x45 // BPF_JMP | BPF_JSET | BPF_K
	bpfRetK       = 0x06 // BPF_RET | BPF_K
	offNr         = 0    // offsetof(struct seccomp_data, nr)
	offArch       = 4    // offsetof(struct seccomp_data, arch)
	x32SyscallBit = 0x40000000
)

// errShape means a program is not laid out as stitch expects; the caller
// then compiles all architectures as one filter instead.
var errShape = errors.New("seccomp program has an unexpected shape")

// subProgram is one architecture's complete filter as libseccomp made it.
type subProgram struct {
	x32 bool // the x32 ABI, which shares AUDIT_ARCH_X86_64 with x86_64
	bpf []byte
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
// the dispatch can only route, never widen, what a program allows.
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

	// Lay out the dispatch, then the programs in order.
	blockLen := func(g archGroup) int {
		if g.main >= 0 && g.x32 >= 0 {
			return 4 // ld nr; jset x32 bit; ja x32; ja main
		}
		return 1 // ja program
	}
	n := 1 // ld arch
	for _, g := range groups {
		n += 1 + blockLen(g)
	}
	n++ // ret bad-arch
	start := make([]int, len(progs))
	total := n
	for i, p := range progs {
		start[i] = total
		total += len(p)
	}
	if total > load.MaxInsns {
		return nil, fmt.Errorf("%w: %d instructions", errShape, total)
	}

	out := make([]load.Insn, 0, total)
	emitJa := func(target int) {
		out = append(out, load.Insn{Code: bpfJa, K: uint32(target - (len(out) + 1))})
	}
	out = append(out, load.Insn{Code: bpfLdAbsW, K: offArch})
	for _, g := range groups {
		out = append(out, load.Insn{Code: bpfJeqK, Jt: 0, Jf: uint8(blockLen(g)), K: g.audit})
		switch {
		case g.main >= 0 && g.x32 >= 0:
			out = append(out,
				load.Insn{Code: bpfLdAbsW, K: offNr},
				load.Insn{Code: bpfJsetK, Jt: 0, Jf: 1, K: x32SyscallBit})
			emitJa(start[g.x32])
			emitJa(start[g.main])
		case g.main >= 0:
			emitJa(start[g.main])
		default:
			emitJa(start[g.x32])
		}
	}
	out = append(out, load.Insn{Code: bpfRetK, K: badArch})
	for _, p := range progs {
		out = append(out, p...)
	}

	b := make([]byte, 0, len(out)*load.InsnSize)
	for _, in := range out {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b, nil
}
