package testutil

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDropSiblings checks that the cgroups a process manager makes
// beside this process's own are left out, and nothing else is.
func TestDropSiblings(t *testing.T) {
	own := []string{"/sys/fs/cgroup/memory/jobs/a"}
	dirs := map[string]bool{
		"/sys/fs/cgroup/memory/jobs":       true,
		"/sys/fs/cgroup/memory/jobs/a":     true,
		"/sys/fs/cgroup/memory/jobs/a/sub": true,
		"/sys/fs/cgroup/memory/jobs/b":     true,
		"/sys/fs/cgroup/memory/jobs/b/sub": true,
		"/sys/fs/cgroup/memory/jobsx":      true,
		"/sys/fs/cgroup/memory/berth-1":    true,
		"/sys/fs/cgroup/cpu/jobs/b":        true,
	}
	got := dropSiblings(dirs, own)
	for _, d := range []string{"/sys/fs/cgroup/memory/jobs/b", "/sys/fs/cgroup/memory/jobs/b/sub"} {
		if got[d] {
			t.Errorf("%s kept", d)
		}
	}
	for _, d := range []string{"/sys/fs/cgroup/memory/jobs", "/sys/fs/cgroup/memory/jobs/a", "/sys/fs/cgroup/memory/jobs/a/sub", "/sys/fs/cgroup/memory/jobsx", "/sys/fs/cgroup/memory/berth-1", "/sys/fs/cgroup/cpu/jobs/b"} {
		if !got[d] {
			t.Errorf("%s dropped", d)
		}
	}
	if len(dropSiblings(dirs, nil)) != len(dirs) {
		t.Error("no own cgroups: something dropped")
	}
}

// TestSettleWaitsForExitingProcesses checks that a new process which
// ends while the check waits is not reported, and one that stays is,
// with its state.
func TestSettleWaitsForExitingProcesses(t *testing.T) {
	start := func() *exec.Cmd {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Skipf("no sleep: %v", err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	key := func(c *exec.Cmd) string { return strconv.Itoa(c.Process.Pid) + " sleep" }
	ending, staying := start(), start()
	after := map[string]bool{key(ending): true, key(staying): true, "1 init": true}
	go func() {
		time.Sleep(200 * time.Millisecond)
		ending.Process.Kill()
		ending.Wait()
	}()
	got := settle(map[string]bool{"1 init": true}, after, time.Second)
	if len(got) != 1 {
		t.Fatalf("settle = %v, want only the staying process", got)
	}
	for k := range got {
		if !strings.HasPrefix(k, key(staying)+" (state S") {
			t.Errorf("report %q, want %q with its state", k, key(staying))
		}
	}
}
