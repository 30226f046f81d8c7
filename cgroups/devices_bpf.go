package cgroups

import (
	"encoding/binary"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The cgroup v2 device controller is a BPF_PROG_TYPE_CGROUP_DEVICE
// program. Its context (struct bpf_cgroup_dev_ctx) is three u32 fields:
// access_type (access << 16 | device type), major and minor. The program
// returns 1 to allow the access and 0 to deny it.
const (
	devTypeBlock = 1 // BPF_DEVCG_DEV_BLOCK
	devTypeChar  = 2 // BPF_DEVCG_DEV_CHAR

	accMknod = 1 // BPF_DEVCG_ACC_MKNOD
	accRead  = 2 // BPF_DEVCG_ACC_READ
	accWrite = 4 // BPF_DEVCG_ACC_WRITE
)

// bpfInsn is one eBPF instruction (struct bpf_insn).
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high nibble
	off  int16
	imm  int32
}

// Opcodes used by the device program.
const (
	opLdxMemW  = 0x61 // BPF_LDX | BPF_MEM | BPF_W
	opMov64Reg = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X
	opMov64Imm = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	opAnd64Imm = 0x57 // BPF_ALU64 | BPF_AND | BPF_K
	opRsh64Imm = 0x77 // BPF_ALU64 | BPF_RSH | BPF_K
	opJeqImm   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	opJneImm   = 0x55 // BPF_JMP | BPF_JNE | BPF_K
	opExit     = 0x95 // BPF_JMP | BPF_EXIT
)

func insn(code, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: dst&0xf | src<<4, off: off, imm: imm}
}

// deviceProgram assembles the rules into a device program with cgroup v1
// semantics: rules apply in order and the last one that matches an access
// decides; an access no rule matches is allowed (a new v1 cgroup allows
// everything until a "deny all" rule). An allow rule matches when every
// requested access bit is in its access set, a deny rule when any is.
func deviceProgram(rules []specs.LinuxDeviceCgroup) []bpfInsn {
	// r2 = type, r3 = access, r4 = major, r5 = minor.
	prog := []bpfInsn{
		insn(opLdxMemW, 2, 1, 0, 0),
		insn(opMov64Reg, 3, 2, 0, 0),
		insn(opAnd64Imm, 2, 0, 0, 0xffff),
		insn(opRsh64Imm, 3, 0, 0, 16),
		insn(opLdxMemW, 4, 1, 4, 0),
		insn(opLdxMemW, 5, 1, 8, 0),
	}
	// Walk the rules backwards so the first match in the program is the
	// last match in the list.
	// A rule that matches every access ends the program: the verifier
	// rejects unreachable code after it.
	for i := len(rules) - 1; i >= 0; i-- {
		block, always := ruleBlock(rules[i])
		prog = append(prog, block...)
		if always {
			return prog
		}
	}
	return append(prog, insn(opMov64Imm, 0, 0, 0, 1), insn(opExit, 0, 0, 0, 0))
}

// ruleBlock is the code for one rule: a series of tests that jump past the
// block when the access does not match, then "return verdict". always
// reports a rule without tests, which matches every access.
func ruleBlock(r specs.LinuxDeviceCgroup) (block []bpfInsn, always bool) {
	var tests [][]bpfInsn
	switch r.Type {
	case "b":
		tests = append(tests, []bpfInsn{insn(opJneImm, 2, 0, 0, devTypeBlock)})
	case "c":
		tests = append(tests, []bpfInsn{insn(opJneImm, 2, 0, 0, devTypeChar)})
	}
	var mask int32
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	for _, c := range access {
		switch c {
		case 'r':
			mask |= accRead
		case 'w':
			mask |= accWrite
		case 'm':
			mask |= accMknod
		}
	}
	if mask != accRead|accWrite|accMknod {
		if r.Allow {
			// Match only if no requested bit lies outside the allowed set.
			tests = append(tests, []bpfInsn{
				insn(opMov64Reg, 6, 3, 0, 0),
				insn(opAnd64Imm, 6, 0, 0, ^mask&7),
				insn(opJneImm, 6, 0, 0, 0),
			})
		} else {
			// Match if any requested bit lies in the denied set.
			tests = append(tests, []bpfInsn{
				insn(opMov64Reg, 6, 3, 0, 0),
				insn(opAnd64Imm, 6, 0, 0, mask),
				insn(opJeqImm, 6, 0, 0, 0),
			})
		}
	}
	if r.Major != nil && *r.Major != -1 {
		tests = append(tests, []bpfInsn{insn(opJneImm, 4, 0, 0, int32(*r.Major))})
	}
	if r.Minor != nil && *r.Minor != -1 {
		tests = append(tests, []bpfInsn{insn(opJneImm, 5, 0, 0, int32(*r.Minor))})
	}
	verdict := int32(0)
	if r.Allow {
		verdict = 1
	}
	for _, t := range tests {
		block = append(block, t...)
	}
	block = append(block, insn(opMov64Imm, 0, 0, 0, verdict), insn(opExit, 0, 0, 0, 0))
	// Point every conditional jump (the last instruction of each test) at
	// the instruction after the block.
	pos := 0
	for _, t := range tests {
		pos += len(t)
		block[pos-1].off = int16(len(block) - pos)
	}
	return block, len(tests) == 0
}

// encode returns the program in the kernel's binary layout.
func encode(prog []bpfInsn) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = append(b, in.code, in.regs)
		b = binary.LittleEndian.AppendUint16(b, uint16(in.off))
		b = binary.LittleEndian.AppendUint32(b, uint32(in.imm))
	}
	return b
}

// evalDeviceProgram interprets a device program for one access. It knows
// only the instructions deviceProgram emits and lets the unit tests check
// the program's decisions without loading it.
func evalDeviceProgram(prog []bpfInsn, typ, access, major, minor uint32) (allow bool, ok bool) {
	var r [11]uint64
	ctx := [3]uint32{access<<16 | typ, major, minor}
	for pc := 0; pc >= 0 && pc < len(prog); pc++ {
		in := prog[pc]
		dst, src := in.regs&0xf, in.regs>>4
		switch in.code {
		case opLdxMemW:
			r[dst] = uint64(ctx[in.off/4])
		case opMov64Reg:
			r[dst] = r[src]
		case opMov64Imm:
			r[dst] = uint64(int64(in.imm))
		case opAnd64Imm:
			r[dst] &= uint64(int64(in.imm))
		case opRsh64Imm:
			r[dst] >>= uint(in.imm)
		case opJeqImm:
			if r[dst] == uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case opJneImm:
			if r[dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case opExit:
			return r[0] == 1, true
		default:
			return false, false
		}
	}
	return false, false
}
