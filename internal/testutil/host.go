package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"syscall"
	"testing"
)

// Name returns a unique name with the berth-test- prefix for the host
// objects (cgroups, containers) a test makes.
func Name(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "berth-test-" + hex.EncodeToString(b)
}

// StartSleep starts a long sleep that is killed and reaped, by its PID,
// when the test ends.
func StartSleep(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// Undo runs undo when the test ends and reports its error as what
// failed, so that a failing test still removes what it made. Cleanups
// run last registered first: register Undo before starting processes
// that must be gone first.
func Undo(t testing.TB, what string, undo func() error) {
	t.Helper()
	t.Cleanup(func() {
		if err := undo(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	})
}

// Inode returns the inode number of the file at p, symlinks followed: a
// /proc/PID/exe or /proc/self/fd/N gives the file it points at.
func Inode(t testing.TB, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
