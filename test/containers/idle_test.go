package containers_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIdleShimServesEverything runs a container under a berthd whose
// shims go idle after 200 ms (shim_idle_after_ms), and checks that a
// shim gone idle serves each command as an awake one would: exec, kill,
// logs, a berthd killed and restarted, stop, wait and rm.
func TestIdleShimServesEverything(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	cfg := e.config()
	old, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append([]byte("shim_idle_after_ms = 200\n"), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()

	id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--name", "idle", e.ref, "sh", "-c", "echo started; trap 'echo usr1' USR1; while :; do sleep 0.1; done"))
	pid := e.shimPid(id)
	e.awaitIdleShim(pid)
	if out := e.ok("exec", "idle", "echo", "inside"); out != "inside\n" {
		t.Fatalf("exec: %q", out)
	}
	e.awaitIdleShim(pid)
	e.ok("kill", "-s", "USR1", "idle")
	deadline := time.Now().Add(30 * time.Second)
	for e.ok("logs", "idle") != "started\nusr1\n" {
		if time.Now().After(deadline) {
			t.Fatalf("logs: %q, want started and usr1", e.ok("logs", "idle"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.awaitIdleShim(pid)

	if err := e.berthd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = e.berthd.Wait()
	e.start()
	if ps := e.ok("ps"); !strings.Contains(ps, "idle") || !strings.Contains(ps, " Up ") {
		t.Fatalf("ps after the restart:\n%s", ps)
	}
	e.awaitIdleShim(pid)

	e.ok("stop", "-t", "1", "idle")
	if out := e.ok("wait", "idle"); out != "137\n" {
		t.Fatalf("wait: %q, want 137 (sh as PID 1 ignores SIGTERM)", out)
	}
	if out := e.ok("logs", "idle"); out != "started\nusr1\n" {
		t.Fatalf("logs after stop: %q", out)
	}
	e.ok("rm", "idle")
	e.nothingLeft()
}

// awaitIdleShim waits until the shim pid runs its idle program.
func (e *env) awaitIdleShim(pid int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if args := strings.Split(string(b), "\x00"); len(args) > 1 && args[1] == "idle" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("shim %d never went idle: %q", pid, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
