package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the reaper itself when the tests start this binary as
// PID 1 of a new PID namespace.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_REAPER_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// reaper returns the reaper running script with sh, as PID 1 of a new
// PID namespace.
func reaper(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no shell: %v", err)
	}
	cmd := exec.Command(os.Args[0], "--", sh, "-c", script)
	cmd.Env = append(os.Environ(), "BERTH_REAPER_TEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	cmd.Stderr = os.Stderr
	return cmd
}

// exitCode runs cmd and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestExitCodes checks that the reaper exits with the command's status,
// 128+N when signal N killed it, and 127 for a missing command.
func TestExitCodes(t *testing.T) {
	for script, want := range map[string]int{
		"exit 0":      0,
		"exit 7":      7,
		"kill -9 $$":  137,
		"kill -15 $$": 143,
	} {
		if got := exitCode(t, reaper(t, script)); got != want {
			t.Errorf("%q: exit %d, want %d", script, got, want)
		}
	}
	missing := reaper(t, "")
	missing.Args = []string{os.Args[0], "/nonexistent/command"}
	if got := exitCode(t, missing); got != 127 {
		t.Errorf("missing command: exit %d, want 127", got)
	}
	if os.Getpid() != 1 {
		if got := run(nil); got != 2 {
			t.Errorf("no command: exit %d, want 2", got)
		}
	}
}

// TestParentIsPID1 checks that the command runs as the child of the
// reaper, PID 1 of the namespace.
func TestParentIsPID1(t *testing.T) {
	out, err := reaper(t, `echo $PPID`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("parent pid %q, want 1", out)
	}
}

// TestReapsOrphans checks that a grandchild orphaned to PID 1 is reaped:
// the command waits until its pid is gone, which a zombie's is not.
func TestReapsOrphans(t *testing.T) {
	script := `p=$(sh -c 'sh -c "exit 0" & echo $!'); while kill -0 "$p" 2>/dev/null; do sleep 0.01; done; echo reaped`
	out, err := reaper(t, script).Output()
	if err != nil || strings.TrimSpace(string(out)) != "reaped" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

// TestForwardsSignals checks that SIGTERM sent to PID 1 reaches the
// command, which traps it, and its process group: the trap exits 42
// only if the sleep in the group was killed by the same signal.
func TestForwardsSignals(t *testing.T) {
	cmd := reaper(t, `trap 'wait $p; [ $? = 143 ] && exit 42; exit 1' TERM; sleep 1000 & p=$!; echo ready; wait $p`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("read %q: %v", line, err)
	}
	// The shell prints ready after forking the sleep, maybe before the
	// fork has exec'd it: until then the child still runs the shell's
	// TERM handler, which would swallow the signal. Wait for sleep.
	if !waitDescendant(cmd.Process.Pid, "sleep") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("sleep never started")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Fatalf("wait: %v, want exit 42 from the trap", err)
	}
}

// waitDescendant waits up to ten seconds for a descendant of pid whose
// command name is comm, walking the host's /proc.
func waitDescendant(pid int, comm string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if hasDescendant(pid, comm) {
			return true
		}
	}
	return false
}

func hasDescendant(pid int, comm string) bool {
	// Each thread lists the children it forked: a Go parent forks from any.
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []string
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		kids = append(kids, strings.Fields(string(b))...)
	}
	for _, f := range kids {
		var kid int
		if _, err := fmt.Sscan(f, &kid); err != nil {
			continue
		}
		name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", kid))
		if strings.TrimSpace(string(name)) == comm || hasDescendant(kid, comm) {
			return true
		}
	}
	return false
}
