package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDeviceProgramDecisions(t *testing.T) {
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"}, // deny everything
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"}, // /dev/null
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(-1)), Access: "r"},  // read any mem device
		{Allow: true, Type: "b", Major: ptr(int64(8)), Access: "rw"},
		{Allow: false, Type: "b", Major: ptr(int64(8)), Minor: ptr(int64(0)), Access: "w"}, // but never write sda
	}
	prog := deviceProgram(rules)
	cases := []struct {
		name                      string
		typ, access, major, minor uint32
		want                      bool
	}{
		{"null rw", devTypeChar, accRead | accWrite, 1, 3, true},
		{"null mknod", devTypeChar, accMknod, 1, 3, true},
		{"zero read", devTypeChar, accRead, 1, 5, true},
		{"zero write", devTypeChar, accWrite, 1, 5, false},
		{"zero rw", devTypeChar, accRead | accWrite, 1, 5, false},
		{"tty", devTypeChar, accRead, 5, 0, false},
		{"sdb rw", devTypeBlock, accRead | accWrite, 8, 16, true},
		{"sdb mknod", devTypeBlock, accMknod, 8, 16, false},
		{"sda read", devTypeBlock, accRead, 8, 0, true},
		{"sda rw", devTypeBlock, accRead | accWrite, 8, 0, false},
		{"char 8:0", devTypeChar, accRead, 8, 0, false},
	}
	for _, c := range cases {
		got, ok := evalDeviceProgram(prog, c.typ, c.access, c.major, c.minor)
		if !ok {
			t.Fatalf("%s: program did not exit", c.name)
		}
		if got != c.want {
			t.Errorf("%s: allow = %v, want %v", c.name, got, c.want)
		}
	}
	// With no deny-all rule an unmatched access is allowed, as in v1.
	open := deviceProgram([]specs.LinuxDeviceCgroup{{Allow: false, Type: "c", Major: ptr(int64(10)), Minor: ptr(int64(200)), Access: "rwm"}})
	if got, _ := evalDeviceProgram(open, devTypeChar, accRead, 1, 3); !got {
		t.Error("unmatched access denied without a deny-all rule")
	}
	if got, _ := evalDeviceProgram(open, devTypeChar, accRead, 10, 200); got {
		t.Error("denied device allowed")
	}
	if n := len(encode(prog)); n != 8*len(prog) {
		t.Errorf("encoded %d bytes for %d instructions", n, len(prog))
	}
}
