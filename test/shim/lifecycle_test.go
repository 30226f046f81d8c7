package shim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/shim"
)

var ctx = context.Background()

func TestEchoLogsInCRIFormat(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		e.run([]string{"sh", "-c", "echo hello; echo oops >&2"})
		if ex := e.wait(""); ex.Code != 0 || ex.Reason != shim.ReasonExited {
			t.Fatalf("exit %+v, want code 0", ex)
		}
		raw, err := os.ReadFile(e.cfg.Log)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) [FP] .*$`)
		for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if !re.MatchString(l) {
				t.Errorf("log line %q is not a CRI record", l)
			}
		}
		got := strings.Join(e.logLines(), "|")
		if !strings.Contains(got, "stdout:hello") || !strings.Contains(got, "stderr:oops") {
			t.Fatalf("log %q lacks stdout:hello and stderr:oops", got)
		}
	})
}

func TestExitCodePropagates(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		c := e.run([]string{"sh", "-c", "exit 3"})
		if st, err := c.State(ctx, ""); err != nil || st.Status != shim.StatusCreated {
			t.Fatalf("state before start: %+v %v, want created", st, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if ex := e.wait(""); ex.Code != 3 {
			t.Fatalf("exit %+v, want code 3", ex)
		}
		if st, err := c.State(ctx, ""); err != nil || st.Status != shim.StatusStopped || st.Exit == nil || st.Exit.Code != 3 {
			t.Fatalf("state after exit: %+v %v", st, err)
		}
	})
}

func TestExecExitCodeAndOutput(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		s, _, err := c.ExecAttach(ctx, shim.ExecOptions{ID: "e1", Spec: processSpec(t, []string{"sh", "-c", "echo in-exec; echo err-exec >&2; exit 5"}, false)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out, errb bytes.Buffer
		ex, err := s.Copy(&out, &errb)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Code != 5 || out.String() != "in-exec\n" || errb.String() != "err-exec\n" {
			t.Fatalf("exec exit %+v stdout %q stderr %q, want 5, in-exec, err-exec", ex, out.String(), errb.String())
		}
		if ex := e.wait("e1"); ex.Code != 5 {
			t.Fatalf("wait e1: %+v", ex)
		}
		if _, err := c.Delete(ctx, "e1", false); err != nil {
			t.Fatal(err)
		}
		if _, err := c.State(ctx, "e1"); err == nil {
			t.Fatal("e1 still known after delete")
		}
		if strings.Contains(strings.Join(e.logLines(), "|"), "in-exec") {
			t.Fatal("an exec's output went to the container's log")
		}
	})
}

func TestKillWait(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		if err := c.Kill(ctx, "", int(syscall.SIGKILL), false); err != nil {
			t.Fatal(err)
		}
		ex := e.wait("")
		if ex.Signal != int(syscall.SIGKILL) || ex.Code != 137 || ex.Reason != shim.ReasonSignaled {
			t.Fatalf("exit %+v, want SIGKILL, 137, signaled", ex)
		}
	})
}

func TestPauseResumePids(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		st, _ := c.State(ctx, "")
		pids, err := c.Pids(ctx)
		if err != nil || len(pids) != 1 || pids[0] != st.Pid {
			t.Fatalf("pids %v %v, want [%d]", pids, err, st.Pid)
		}
		if err := c.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := c.State(ctx, ""); st.Status != shim.StatusPaused {
			t.Fatalf("status %s after pause", st.Status)
		}
		if err := c.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := c.State(ctx, ""); st.Status != shim.StatusRunning {
			t.Fatalf("status %s after resume", st.Status)
		}
	})
}

func TestTerminal(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.Terminal, e.cfg.StartNow = true, true
		e.run([]string{"tty"})
		if ex := e.wait(""); ex.Code != 0 {
			t.Fatalf("tty exited %+v", ex)
		}
		got := strings.Join(e.logLines(), "|")
		if !regexp.MustCompile(`stdout:/dev/pts/\d+`).MatchString(got) {
			t.Fatalf("log %q, want stdout:/dev/pts/N", got)
		}
	})
}

func TestExecTerminalResize(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		s, _, err := c.ExecAttach(ctx, shim.ExecOptions{ID: "t1", Terminal: true, Stdin: true, Spec: processSpec(t, []string{"sh", "-c", "read x; stty size; tty"}, true)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := c.ResizePty(ctx, "t1", 77, 33); err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("go\n"))
		var out bytes.Buffer
		ex, err := s.Copy(&out, &out)
		if err != nil || ex.Code != 0 {
			t.Fatalf("exec: %+v %v, output %q", ex, err, out.String())
		}
		if !strings.Contains(out.String(), "33 77") || !strings.Contains(out.String(), "/dev/pts/") {
			t.Fatalf("output %q, want 33 77 and /dev/pts/", out.String())
		}
	})
}

func TestStdinAttach(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.Stdin = true
		c := e.run([]string{"cat"})
		s, _, err := c.Attach(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("ping\n"))
		if err := s.CloseStdin(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ex, err := s.Copy(&out, &out)
		if err != nil || ex.Code != 0 || out.String() != "ping\n" {
			t.Fatalf("cat: exit %+v %v, output %q, want 0 and ping", ex, err, out.String())
		}
		if got := strings.Join(e.logLines(), "|"); got != "stdout:ping" {
			t.Fatalf("log %q, want stdout:ping", got)
		}
	})
}

// TestAttachStartMissesNothing: attach and start in one round trip gets
// all of a process's output, even one that prints and exits at once;
// a second AttachStart (the init is no longer created) is refused and
// the stream still ends with the exit.
func TestAttachStartMissesNothing(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		c := e.run([]string{"sh", "-c", "echo out; echo err >&2; exit 4"})
		s, st, err := c.AttachStart(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if st == nil || st.Pid <= 0 || st.Status == shim.StatusCreated {
			t.Fatalf("state after AttachStart %+v, want the started init's", st)
		}
		if _, _, err := c.AttachStart(ctx); err == nil {
			t.Error("a second AttachStart succeeded")
		}
		var out, errb bytes.Buffer
		ex, err := s.Copy(&out, &errb)
		if err != nil || ex.Code != 4 || out.String() != "out\n" || errb.String() != "err\n" {
			t.Fatalf("exit %+v %v, stdout %q, stderr %q; want 4, out, err", ex, err, out.String(), errb.String())
		}
	})
}

func TestDeleteLeavesNothing(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		if _, err := c.Delete(ctx, "", false); err == nil {
			t.Fatal("delete of a running container without force succeeded")
		}
		st, err := c.Delete(ctx, "", true)
		if err != nil {
			t.Fatal(err)
		}
		waitGone(t, e.shimPid)
		if alive(st.Pid) {
			t.Errorf("container init %d still runs", st.Pid)
		}
		if _, err := os.Stat(e.cfg.StateDir); !os.IsNotExist(err) {
			t.Errorf("state dir %s left: %v", e.cfg.StateDir, err)
		}
		if e.runtimeKnows() {
			t.Errorf("%s still has container %s", e.runtime, e.cfg.ID)
		}
		if _, err := c.State(ctx, ""); err == nil {
			t.Error("the shim still answers after delete")
		}
	})
}

func TestBadBundleLeavesNothing(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.bundle([]string{"/no/such/binary"}, nil)
		e.cfg.StartNow = true
		_, err := shim.Launch(ctx, shimBin, e.cfg)
		if err == nil {
			t.Fatal("a container whose binary is missing started")
		}
		if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("error %q is not one line", msg)
		}
		t.Logf("error: %v", err)
		e.noTrace(t, true)
		os.RemoveAll(e.cfg.Bundle + "/rootfs")
		if _, err := shim.Launch(ctx, shimBin, e.cfg); err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("a bundle without rootfs: error %v, want one line", err)
		}
		e.noTrace(t, true)
	})
}

// noTrace checks that no state dir (nor, with noLog, log) or container is left.
func (e *env) noTrace(t *testing.T, noLog bool) {
	t.Helper()
	paths := []string{e.cfg.StateDir}
	if noLog {
		paths = append(paths, e.cfg.Log)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	if e.runtimeKnows() {
		t.Errorf("%s still has container %s", e.runtime, e.cfg.ID)
	}
}

// TestStartLeavesRuntimeRunning: after the shim's start the runtime
// itself reports the container running (for berth-runtime, the shim
// released the init through the exec fifo and removed it).
func TestStartLeavesRuntimeRunning(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		c := e.run([]string{"sleep", "60"})
		if got := e.runtimeStatus(); got != "created" {
			t.Fatalf("runtime status before start %q, want created", got)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.runtimeStatus(); got != "running" {
			t.Fatalf("runtime status after start %q, want running", got)
		}
		if err := c.Kill(ctx, "", 9, false); err != nil {
			t.Fatal(err)
		}
		if ex := e.wait(""); ex.Code != 137 {
			t.Fatalf("exit %+v, want 137", ex)
		}
	})
}

// TestStartAfterInitDiedFails: a start whose created init was killed
// fails with an error instead of waiting for an init that will not come.
func TestStartAfterInitDiedFails(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		c := e.run([]string{"true"})
		st, err := c.State(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(st.Pid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if ex := e.wait(""); ex.Code != 137 {
			t.Fatalf("exit %+v, want 137", ex)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := c.Start(sctx); err == nil {
			t.Fatal("start of a container whose init died succeeded")
		} else if sctx.Err() != nil {
			t.Fatalf("start did not return: %v", err)
		}
	})
}

// runtimeStatus is what the runtime binary's state says of the container.
func (e *env) runtimeStatus() string {
	e.t.Helper()
	out, err := exec.Command(e.runtime, "--root", e.cfg.RuntimeRoot, "state", e.cfg.ID).Output()
	if err != nil {
		e.t.Fatalf("%s state: %v", e.runtime, err)
	}
	var st struct{ Status string }
	if err := json.Unmarshal(out, &st); err != nil {
		e.t.Fatalf("%s state: %v: %s", e.runtime, err, out)
	}
	return st.Status
}

// TestLaunchReapsWithoutAThread: Launch reaps the shim once it ends
// (no zombie left), and waits for that without a goroutine blocked in
// the process's wait, which would hold an OS thread per shim in berthd.
func TestLaunchReapsWithoutAThread(t *testing.T) {
	e := newEnv(t, berthRuntime)
	e.cfg.FifoStart = true
	c := e.run([]string{"sleep", "60"})
	buf := make([]byte, 1<<20)
	stacks := string(buf[:goruntime.Stack(buf, true)])
	if strings.Contains(stacks, "os.(*Process).Wait") || strings.Contains(stacks, "os/exec.(*Cmd).Wait") {
		t.Fatalf("a goroutine waits for the shim in a blocking wait:\n%s", stacks)
	}
	if _, err := c.Delete(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := os.Stat("/proc/" + itoa(e.shimPid))
		if err != nil {
			break // reaped: not even a zombie
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim %d not reaped (alive %v)", e.shimPid, alive(e.shimPid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignalRightAfterStartReachesLateHandler checks that a SIGTERM sent
// at once after the start reaches an init that installs its handler
// only later (here after 0.1 s): sent at once, the kernel would drop it,
// as the init of a PID namespace does not get signals it leaves at their
// default action. The shim holds such a signal for at most a second
// after the start (handlerWait): the 0.9 s left is the test's margin
// for a loaded machine (it had 0.7 s and once, in a CI run, ran out).
func TestSignalRightAfterStartReachesLateHandler(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sh", "-c", `sleep 0.1; trap "exit 3" TERM; while :; do sleep 0.05; done`})
		if err := c.Kill(ctx, "", int(syscall.SIGTERM), false); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ex, err := c.Wait(wctx, "")
		if err != nil {
			_ = c.Kill(ctx, "", int(syscall.SIGKILL), false)
			t.Fatalf("the container did not exit on SIGTERM: %v", err)
		}
		if ex.Code != 3 {
			t.Fatalf("exit %+v, want 3 (from the trap)", ex)
		}
	})
}

// TestPrestartHoldsUntilGo: a shim started ahead (shim.Prestart) creates
// nothing (no container, no socket) until Go, then serves as one from
// Launch; one aborted instead exits and leaves nothing, its state
// directory included (the leak check sees to its process). With
// berth-runtime, the runtime's create is started ahead too
// (RuntimeHold), and waits as well.
func TestPrestartHoldsUntilGo(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.RuntimeHold = e.runtime == berthRuntime
		e.bundle([]string{"sh", "-c", "exit 4"}, nil)
		created := func() bool {
			_, err := os.Stat(filepath.Join(e.cfg.RuntimeRoot, e.cfg.ID))
			return err == nil
		}
		p, err := shim.Prestart(shimBin, e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		awaitBlockedOnRead(t, p.Pid())
		if e.cfg.RuntimeHold {
			awaitBlockedOnRead(t, childNamed(t, p.Pid(), "berth-runtime"))
		}
		if created() {
			t.Fatal("a held shim created its container")
		}
		if _, err := os.Stat(e.cfg.SocketPath()); err == nil {
			t.Fatal("a held shim serves")
		}
		p.Abort()
		if _, err := os.Stat(e.cfg.StateDir); !os.IsNotExist(err) {
			t.Fatalf("state directory after Abort: %v, want it gone", err)
		}
		if created() {
			t.Fatal("an aborted shim created its container")
		}

		if p, err = shim.Prestart(shimBin, e.cfg); err != nil {
			t.Fatal(err)
		}
		c, err := p.Go(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.client = c
		st, err := c.State(ctx, "")
		if err != nil || st.Status != shim.StatusCreated {
			t.Fatalf("state after Go: %+v %v, want created", st, err)
		}
		e.shimPid = st.ShimPid
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if ex := e.wait(""); ex.Code != 4 {
			t.Fatalf("exit %+v, want code 4", ex)
		}
	})
}

// awaitBlockedOnRead waits until a thread of process pid sits in a read
// of a descriptor above stdio (a held shim, on its hold pipe), so that
// what the test sees next is what the process does while it waits.
func awaitBlockedOnRead(t *testing.T, pid int) {
	t.Helper()
	read, ok := map[string]string{"amd64": "0", "arm64": "63"}[goruntime.GOARCH]
	if !ok {
		t.Skipf("read(2)'s number on %s is not known here", goruntime.GOARCH)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "syscall"))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			// "NR 0xFD ...": the syscall's number and first argument.
			if fields := strings.Fields(string(b)); len(fields) > 1 && fields[0] == read {
				if fd, err := strconv.ParseInt(fields[1], 0, 32); err == nil && fd > 2 {
					return
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d never waited in a read", pid)
}

// childNamed waits for a child of pid named name and returns its pid.
func childNamed(t *testing.T, pid int, name string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		lists, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
		for _, l := range lists {
			b, _ := os.ReadFile(l)
			for _, c := range strings.Fields(string(b)) {
				if comm, _ := os.ReadFile(filepath.Join("/proc", c, "comm")); strings.TrimSpace(string(comm)) == name {
					n, _ := strconv.Atoi(c)
					return n
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d has no child named %s", pid, name)
	return 0
}
