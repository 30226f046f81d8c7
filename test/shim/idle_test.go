package shim_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/shim"
)

// idleAfter is the tests' idle time: short, so that the shim hands off
// between the steps of a test.
const idleAfter = 150 * time.Millisecond

// awaitIdle waits until the shim runs its idle program (its command line
// says so) and checks that it is the same process, named berth-shim, and,
// where the idle program is the assembly one (the Makefile's amd64
// build), without the Go runtime's
// threads.
func (e *env) awaitIdle() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !e.shimIdle() {
		if time.Now().After(deadline) {
			e.t.Fatalf("shim %d never went idle", e.shimPid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	comm, _ := os.ReadFile("/proc/" + itoa(e.shimPid) + "/comm")
	if got := strings.TrimSpace(string(comm)); got != "berth-shim" {
		e.t.Errorf("idle shim named %q, want berth-shim", got)
	}
	if runtime.GOARCH == "amd64" && e.bin == "" {
		if n := threads(e.shimPid); n != 1 {
			e.t.Errorf("idle shim has %d threads, want 1 (no Go runtime)", n)
		}
	}
}

// awaitIdleHolding waits until the shim is idle holding n sockets (its
// own and n-1 parked Waits), then checks it as awaitIdle does.
func (e *env) awaitIdleHolding(n int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !e.shimIdle() || e.sockets() != n {
		if time.Now().After(deadline) {
			e.t.Fatalf("shim %d never went idle holding %d sockets (idle %v, %d sockets)", e.shimPid, n, e.shimIdle(), e.sockets())
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.awaitIdle()
}

// sockets counts the shim's open sockets.
func (e *env) sockets() int {
	fds, _ := filepath.Glob("/proc/" + itoa(e.shimPid) + "/fd/*")
	n := 0
	for _, fd := range fds {
		if l, _ := os.Readlink(fd); strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// shimIdle reports whether the shim's command line is the idle program's.
func (e *env) shimIdle() bool {
	b, _ := os.ReadFile("/proc/" + itoa(e.shimPid) + "/cmdline")
	args := strings.Split(string(b), "\x00")
	return len(args) > 1 && args[1] == "idle"
}

func threads(pid int) int {
	ents, _ := os.ReadDir("/proc/" + itoa(pid) + "/task")
	return len(ents)
}

// TestIdleHandOffLosesNothing runs a container whose shim goes idle
// between every step: an exec'd process runs and is deleted, a Wait made before is answered after several
// hand-offs, a request wakes it, output written while it is idle is
// logged (an unterminated line held across hand-offs joins its end),
// and an init that dies while it is idle is reaped and its exit
// recorded.
func TestIdleHandOffLosesNothing(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow, e.cfg.IdleAfter = true, idleAfter
		c := e.run([]string{"sh", "-c", "trap 'echo ial' USR1; printf part; while :; do sleep 0.1; done"})
		st, err := c.State(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		e.awaitIdle()

		// An exec'd process keeps the shim awake until it is deleted.
		if _, err := c.Exec(ctx, shim.ExecOptions{ID: "x", Spec: processSpec(t, []string{"true"}, false)}); err != nil {
			t.Fatalf("exec: %v", err)
		}
		if ex := e.wait("x"); ex.Code != 0 {
			t.Fatalf("exec exit %+v", ex)
		}
		if _, err := c.Delete(ctx, "x", false); err != nil {
			t.Fatal(err)
		}
		e.awaitIdle()

		waited := make(chan *shim.Exit, 1)
		go func() {
			wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ex, err := c.Wait(wctx, "")
			if err != nil {
				t.Errorf("wait: %v", err)
			}
			waited <- ex
		}()
		// The Wait wakes the shim, which goes idle again with it parked:
		// its socket and the Wait's.
		e.awaitIdleHolding(2)

		st2, err := c.State(ctx, "")
		if err != nil || st2.Pid != st.Pid || st2.Status != shim.StatusRunning || st2.ShimPid != e.shimPid {
			t.Fatalf("state after idle: %+v, %v; want pid %d running in shim %d", st2, err, st.Pid, e.shimPid)
		}
		e.awaitIdle()

		if err := unix.Kill(st.Pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(e.logLines()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := e.logLines(); len(got) != 1 || got[0] != "stdout:partial" {
			t.Fatalf("log %q, want [stdout:partial]", got)
		}
		e.awaitIdle()

		if err := unix.Kill(st.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		ex := <-waited
		if ex == nil || ex.Code != 137 || ex.Signal != int(syscall.SIGKILL) || ex.Reason != shim.ReasonSignaled {
			t.Fatalf("exit %+v, want SIGKILL, 137, signaled", ex)
		}
		if r, err := shim.Load(ctx, e.cfg.StateDir); err != nil || r.Exit == nil || r.Exit.Code != 137 {
			t.Fatalf("load after the exit: %+v, %v", r, err)
		}
		if _, err := c.Delete(ctx, "", false); err != nil {
			t.Fatal(err)
		}
		waitGone(t, e.shimPid)
	})
}

// TestIdleTerminalAndStdin hands off a shim holding a terminal, and one
// holding a stdin pipe: after the hand-off, what the client writes
// reaches the container and what it answers reaches the client.
func TestIdleTerminalAndStdin(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		name := "stdin"
		if terminal {
			name = "terminal"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, berthRuntime)
			e.cfg.FifoStart, e.cfg.InProcess = true, true
			e.cfg.StartNow, e.cfg.IdleAfter = true, idleAfter
			e.cfg.Terminal, e.cfg.Stdin = terminal, !terminal
			c := e.run([]string{"sh", "-c", "read line; echo got-$line"})
			e.awaitIdle()
			if terminal {
				if err := c.ResizePty(ctx, "", 100, 30); err != nil {
					t.Fatalf("resize: %v", err)
				}
				e.awaitIdle()
			}
			s, _, err := c.Attach(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Write([]byte("hello\n")); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			ex, err := s.Copy(&out, &out)
			if err != nil || ex == nil || ex.Code != 0 {
				t.Fatalf("attach: exit %+v, %v", ex, err)
			}
			if !strings.Contains(out.String(), "got-hello") {
				t.Fatalf("attached output %q, want got-hello", out.String())
			}
			if _, err := c.Delete(ctx, "", false); err != nil {
				t.Fatal(err)
			}
			waitGone(t, e.shimPid)
		})
	}
}

// TestIdleCreatedStartsAfterHandOff hands off a shim whose container is
// created, not started: Start wakes it and the container runs its
// program, whose output is logged.
func TestIdleCreatedStartsAfterHandOff(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.IdleAfter = idleAfter
		c := e.run([]string{"echo", "started"})
		e.awaitIdle()
		if err := c.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		if ex := e.wait(""); ex.Code != 0 {
			t.Fatalf("exit %+v", ex)
		}
		if got := e.logLines(); len(got) != 1 || got[0] != "stdout:started" {
			t.Fatalf("log %q, want [stdout:started]", got)
		}
	})
}

// TestIdleInGoBuild hands off a shim built without the assembly entry,
// whose idle program is Go's (idleMain), as on other architectures: it
// goes idle, wakes for a request, and reaps and reports an init that
// dies while it is idle.
func TestIdleInGoBuild(t *testing.T) {
	e := newEnv(t, berthRuntime)
	e.bin = filepath.Join(t.TempDir(), "berth-shim")
	build := exec.Command("go", "build", "-trimpath", "-o", e.bin, "./cmd/berth-shim")
	build.Dir = filepath.Join(filepath.Dir(shimBin), "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e.cfg.FifoStart, e.cfg.StartNow, e.cfg.IdleAfter = true, true, idleAfter
	c := e.run([]string{"sleep", "1000"})
	e.awaitIdle()
	st, err := c.State(ctx, "")
	if err != nil || st.Status != shim.StatusRunning || st.ShimPid != e.shimPid {
		t.Fatalf("state after idle: %+v, %v", st, err)
	}
	e.awaitIdle()
	if err := unix.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ex := e.wait(""); ex.Code != 137 {
		t.Fatalf("exit %+v, want 137", ex)
	}
	if _, err := c.Delete(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	waitGone(t, e.shimPid)
}

// TestIdlePodShim hands off a shim holding several containers, one of
// them ended and not yet deleted: each is served after the hand-off
// (the ended one's exit kept), one added while the shim is idle runs,
// and one killed while it is idle is reaped and reported apart from the
// others.
func TestIdlePodShim(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.IdleAfter = idleAfter
		first := e.pod()
		c2, two := e.add("2", []string{"sh", "-c", "echo two; exit 3"})
		if ex, err := two.Wait(ctx, ""); err != nil || ex.Code != 3 {
			t.Fatalf("wait for 2: %+v %v, want code 3", ex, err)
		}
		e.awaitIdle()
		running(t, first)
		if ex, err := two.Wait(ctx, ""); err != nil || ex.Code != 3 {
			t.Fatalf("wait for 2 after the hand-off: %+v %v, want code 3", ex, err)
		}
		e.awaitIdle()
		_, three := e.add("3", []string{"sleep", "1000"})
		st3 := running(t, three)
		e.awaitIdle()
		if err := unix.Kill(st3.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if ex, err := three.Wait(ctx, ""); err != nil || ex.Code != 137 {
			t.Fatalf("wait for 3: %+v %v, want code 137", ex, err)
		}
		running(t, first)
		if b, err := os.ReadFile(c2.Log); err != nil || !strings.Contains(string(b), "stdout F two") {
			t.Fatalf("2's log %q %v, want its line", b, err)
		}
		for _, c := range []*shim.Client{two, three, first} {
			if _, err := c.Delete(ctx, "", true); err != nil {
				t.Fatalf("delete %s: %v", c.ID, err)
			}
		}
		waitGone(t, e.shimPid)
	})
}

// TestIdleCommandsByHand: idle and resume are a shim's own; run by hand,
// without a shim's state on descriptor 3, each ends at once with one
// line saying so and exit code 2.
func TestIdleCommandsByHand(t *testing.T) {
	testutil.CheckLeaks(t)
	zero := filepath.Join(t.TempDir(), "zero")
	if err := os.WriteFile(zero, make([]byte, 600), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"resume"}, {"idle"}} {
		f, err := os.Open(zero)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(shimBin, args...)
		cmd.ExtraFiles = []*os.File{f} // descriptor 3: no state
		out, err := cmd.CombinedOutput()
		f.Close()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || strings.Count(string(out), "\n") != 1 ||
			!strings.Contains(string(out), "runs only as an idle shim's own") {
			t.Errorf("berth-shim %s: %v, %q; want exit 2 and one line", args[0], err, out)
		}
	}
}
