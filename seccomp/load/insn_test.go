package load

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestInsnLayout(t *testing.T) {
	if unsafe.Sizeof(Insn{}) != InsnSize || unsafe.Sizeof(unix.SockFilter{}) != InsnSize {
		t.Fatal("Insn does not match struct sock_filter")
	}
}

func TestInsnsDecode(t *testing.T) {
	// ld [4]; ret ALLOW
	p := &Program{Filter: encode([]Insn{{0x20, 0, 0, 4}, {0x06, 0, 0, 0x7fff0000}})}
	got, err := p.Insns()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Insn{0x20, 0, 0, 4}) || got[1].K != 0x7fff0000 {
		t.Fatalf("decoded %+v", got)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(b, &back); err != nil || string(back.Filter) != string(p.Filter) {
		t.Fatalf("JSON round trip: %v", err)
	}
}

func TestInsnsInvalid(t *testing.T) {
	for _, f := range [][]byte{nil, make([]byte, 7), make([]byte, (MaxInsns+1)*InsnSize)} {
		if _, err := (&Program{Filter: f}).Insns(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d bytes: %v", len(f), err)
		}
	}
	if _, err := Load(&Program{Filter: make([]byte, 3)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Load of a torn filter: %v", err)
	}
	if _, err := Load(&Program{Filter: make([]byte, 8), Flags: 1 << 20}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Load with unknown flags: %v", err)
	}
	if fd, err := Load(nil); fd != -1 || err != nil {
		t.Errorf("Load(nil) = %d, %v", fd, err)
	}
}

func TestEffectiveFlags(t *testing.T) {
	for _, tc := range []struct {
		p    Program
		want uint
	}{
		{Program{Flags: FlagLog}, FlagLog},
		{Program{NeedsNotify: true}, FlagNewListener},
		{Program{Flags: FlagTsync, NeedsNotify: true}, FlagTsync | FlagNewListener | FlagTsyncESRCH},
		{Program{Flags: FlagTsync}, FlagTsync},
	} {
		got, err := tc.p.EffectiveFlags()
		if err != nil || got != tc.want {
			t.Errorf("%+v: %#x %v, want %#x", tc.p, got, err, tc.want)
		}
	}
}

func encode(insns []Insn) []byte {
	b := make([]byte, 0, len(insns)*InsnSize)
	for _, i := range insns {
		b = binary.NativeEndian.AppendUint16(b, i.Code)
		b = append(b, i.Jt, i.Jf)
		b = binary.NativeEndian.AppendUint32(b, i.K)
	}
	return b
}

// allowAll is "ret SECCOMP_RET_ALLOW".
var allowAll = []Insn{{Code: 0x06, K: 0x7fff0000}}
