package shim

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/berth-dev/berth/runtime/proto"
)

// handlerWait is how long after its start a container's init is given
// to install a handler for a signal that the kernel would otherwise
// drop (see awaitHandler).
const handlerWait = time.Second

// awaitHandler delays a signal to a container's init that started less
// than handlerWait ago and would lose it (lost): the kernel drops a
// signal sent to the init of a PID namespace when that init leaves the
// signal at its default action, and a program that has just been
// executed has not yet installed its handlers (a Go program needs about
// a millisecond). Before that, from the start until its execve, the
// init is still berth-init, whose handlers the execve resets: a signal
// caught then would end berth-init, or be lost if the execve is under
// way. A stop that follows a start at once would otherwise be lost and
// wait out its whole timeout. awaitHandler returns once the program
// catches or ignores sig, exits (exited is closed), or the time is up;
// the caller then sends sig in any case.
func awaitHandler(pid int, sig syscall.Signal, started time.Time, exited <-chan struct{}) {
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP || pid <= 0 || started.IsZero() {
		return
	}
	deadline := started.Add(handlerWait)
	for pause := 500 * time.Microsecond; time.Now().Before(deadline); pause = min(2*pause, 20*time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil || !lost(b, sig) {
			return
		}
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-exited:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// lost reports whether sig would be lost for a container's init whose
// /proc/PID/status is status: it is still berth-init (see awaitHandler),
// or it is the init of its PID namespace (its innermost NSpid is 1) and
// neither catches nor ignores sig.
func lost(status []byte, sig syscall.Signal) bool {
	var nsInit, seen bool
	var caught, ignored uint64
	for _, line := range bytes.Split(status, []byte("\n")) {
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		switch string(key) {
		case "Name":
			if string(val) == proto.InitName {
				return true
			}
		case "NSpid":
			f := bytes.Fields(val)
			nsInit = len(f) > 1 && string(f[len(f)-1]) == "1"
		case "SigCgt", "SigIgn":
			m, err := strconv.ParseUint(string(val), 16, 64)
			if err != nil {
				return false
			}
			if key[3] == 'C' {
				caught, seen = m, true
			} else {
				ignored = m
			}
		}
	}
	bit := uint64(1) << (uint(sig) - 1)
	return nsInit && seen && (caught|ignored)&bit == 0
}
