package seccomp

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/berth-dev/berth/seccomp/load"
)

// Return values of a seccomp filter (SECCOMP_RET_*).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retNotify      = 0x7fc00000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// Audit architecture numbers (AUDIT_ARCH_*).
const (
	auditX86_64 = 0xc000003e
	auditI386   = 0x40000003
)

// call is a syscall as the filter sees it (struct seccomp_data).
type call struct {
	nr   int32
	arch uint32
	args [6]uint64
}

// data lays c out as struct seccomp_data.
func (c call) data() []byte {
	b := make([]byte, 64)
	binary.NativeEndian.PutUint32(b[0:], uint32(c.nr))
	binary.NativeEndian.PutUint32(b[4:], c.arch)
	for i, a := range c.args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// eval runs a classic BPF program on c, the way the kernel runs a seccomp
// filter, so that compiled profiles can be checked without loading them.
func eval(t *testing.T, p *Program, c call) uint32 {
	t.Helper()
	insns, err := p.Insns()
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := run(insns, c.data())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run returns what the program insns returns for data and how many
// instructions it ran to get there.
func run(insns []load.Insn, data []byte) (ret uint32, steps int, err error) {
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(insns); pc++ {
		steps++
		in := insns[pc]
		class := in.Code & 0x07
		switch class {
		case 0x00, 0x01: // LD, LDX
			var v uint32
			switch in.Code & 0xe0 {
			case 0x00: // IMM
				v = in.K
			case 0x20: // ABS
				if in.Code&0x18 != 0x00 || int(in.K)+4 > len(data) {
					return 0, steps, fmt.Errorf("pc %d: bad load %#x k=%d", pc, in.Code, in.K)
				}
				v = binary.NativeEndian.Uint32(data[in.K:])
			case 0x60: // MEM
				v = mem[in.K]
			case 0x80: // LEN
				v = uint32(len(data))
			default:
				return 0, steps, fmt.Errorf("pc %d: unsupported load mode %#x", pc, in.Code)
			}
			if class == 0x00 {
				a = v
			} else {
				x = v
			}
		case 0x02: // ST
			mem[in.K] = a
		case 0x03: // STX
			mem[in.K] = x
		case 0x04: // ALU
			src := in.K
			if in.Code&0x08 != 0 {
				src = x
			}
			switch in.Code & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x20:
				a *= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src
			case 0x70:
				a >>= src
			case 0x80:
				a = -a
			case 0xa0:
				a ^= src
			default:
				return 0, steps, fmt.Errorf("pc %d: unsupported alu %#x", pc, in.Code)
			}
		case 0x05: // JMP
			src := in.K
			if in.Code&0x08 != 0 {
				src = x
			}
			var cond bool
			switch in.Code & 0xf0 {
			case 0x00: // JA
				pc += int(in.K)
				continue
			case 0x10:
				cond = a == src
			case 0x20:
				cond = a > src
			case 0x30:
				cond = a >= src
			case 0x40:
				cond = a&src != 0
			default:
				return 0, steps, fmt.Errorf("pc %d: unsupported jump %#x", pc, in.Code)
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x06: // RET
			if in.Code&0x18 == 0x10 {
				return a, steps, nil
			}
			return in.K, steps, nil
		case 0x07: // MISC
			if in.Code&0xf8 == 0x00 {
				x = a
			} else {
				a = x
			}
		}
	}
	return 0, steps, fmt.Errorf("fell off the end of the program")
}

// encodeInsns builds a program of RET instructions returning each value.
func encodeInsns(rets ...uint32) []byte {
	var b []byte
	for _, r := range rets {
		b = binary.NativeEndian.AppendUint16(b, 0x06)
		b = append(b, 0, 0)
		b = binary.NativeEndian.AppendUint32(b, r)
	}
	return b
}
