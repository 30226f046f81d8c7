package shim

import (
	"errors"
	"os"
	"testing"
)

// TestResumeRefusesMalformedState: a state that names no socket, no
// task, or a task without an ID, a log or consistent outputs ends resume
// with an error, before it takes any descriptor or becomes a subreaper.
func TestResumeRefusesMalformedState(t *testing.T) {
	good := func() *idleState {
		return &idleState{Listener: 10, Tasks: []idleTask{{ID: "c", LogFD: 11, Pidfd: -1,
			Init: idleProcess{Pid: 1, Outs: []int{12, 13}, EOF: []bool{false, false}, Pending: [][]byte{nil, nil}}}}}
	}
	for name, spoil := range map[string]func(*idleState){
		"no socket":        func(st *idleState) { st.Listener = -1 },
		"no task":          func(st *idleState) { st.Tasks = nil },
		"no id":            func(st *idleState) { st.Tasks[0].ID = "" },
		"no log":           func(st *idleState) { st.Tasks[0].LogFD = -1 },
		"no pid":           func(st *idleState) { st.Tasks[0].Init.Pid = 0 },
		"eof mismatch":     func(st *idleState) { st.Tasks[0].Init.EOF = nil },
		"pending mismatch": func(st *idleState) { st.Tasks[0].Init.Pending = nil },
		"bad output":       func(st *idleState) { st.Tasks[0].Init.Outs[1] = -3 },
		"three outputs": func(st *idleState) {
			ip := &st.Tasks[0].Init
			ip.Outs, ip.EOF, ip.Pending = []int{12, 13, 14}, make([]bool, 3), make([][]byte, 3)
		},
	} {
		st := good()
		if err := st.check(); err != nil {
			t.Fatalf("the good state: %v", err)
		}
		spoil(st)
		if _, err := resume(st); !errors.Is(err, errMalformed) {
			t.Errorf("%s: resume returned %v, want %v", name, err, errMalformed)
		}
	}
}

// TestReadIdleStateRefusesGarbage: resume run by hand, with descriptor 3
// holding anything but a shim's state, fails with an error.
func TestReadIdleStateRefusesGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":    nil,
		"no state": make([]byte, pollBytes),
		"not json": append(make([]byte, pollBytes), "not json"...),
	} {
		f, err := os.CreateTemp(t.TempDir(), "state")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := readIdleState(f); err == nil {
			t.Errorf("%s: read as a state", name)
		}
	}
}
