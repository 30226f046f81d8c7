package runtime

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ignoreExit drops the error os/exec reports for a non-zero exit: the
// exit status is in the ProcessState.
func ignoreExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil
	}
	return err
}

// ExitCode maps a process state to a shell-style exit code: the status,
// or 128+signal.
func ExitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
