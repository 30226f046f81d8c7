package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"slices"
	"testing"
)

// testName returns a unique name with the berth-test- prefix for host
// objects the test creates.
func testName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "berth-test-" + hex.EncodeToString(b)
}

// startSleep starts a long sleep and makes sure it is killed and reaped,
// by its PID, when the test ends.
func startSleep(t *testing.T) *exec.Cmd {
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

func hasPid(pids []int, pid int) bool { return slices.Contains(pids, pid) }

// destroyAtEnd registers Destroy as a cleanup so a failing test still
// removes its cgroups. Cleanups run last registered first, so call it
// before startSleep: the sleep is then reaped before Destroy runs.
func destroyAtEnd(t *testing.T, m Manager) {
	t.Helper()
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
}
