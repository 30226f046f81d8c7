package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// During exec every process that enters the container's pid namespace is
// already the sealed init: none, not even for the instant between fork
// and execve, runs the host's runtime binary, which a process of the
// container could otherwise reach through /proc/PID/exe. The exec runs
// under ptrace, so each new process is inspected stopped, right after it
// was forked, before it runs anything. (Not run against runc: runc 1.1
// shows its own binary there through a detached read-only bind mount,
// its CVE-2019-5736 defence; berth shows only the sealed berth-init.)
func TestExecEntersPidNamespaceAsSealedInit(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(openUp(t)) // the mapped root must reach the rootfs
	for _, userns := range []bool{false, true} {
		// In a user namespace nsenter joins it for the runtime: it too
		// must stay out of the container's pid namespace.
		var mod func(*specs.Spec)
		if userns {
			mod = withUserNS
		}
		b := e.bundle([]string{"sleep", "300"}, mod)
		id := e.id()
		e.must("run", "-d", "--bundle", b, id)
		pidNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", e.state(id).Pid))
		if err != nil {
			t.Fatal(err)
		}
		host, err := os.Stat(e.bin)
		if err != nil {
			t.Fatal(err)
		}
		entered := 0
		var bad []string
		code, err := traceForks(e.cmd("exec", id, "true"), func(pid int) {
			if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); ns != pidNS {
				return
			}
			entered++
			exe := fmt.Sprintf("/proc/%d/exe", pid)
			link, _ := os.Readlink(exe)
			if fi, err := os.Stat(exe); (err == nil && os.SameFile(fi, host)) || !strings.HasPrefix(link, "/memfd:") {
				bad = append(bad, fmt.Sprintf("pid %d runs %q", pid, link))
			}
		})
		if err != nil || code != 0 {
			t.Errorf("traced exec (user namespace %v): exit %d, %v", userns, code, err)
		}
		if entered == 0 {
			t.Errorf("user namespace %v: saw no process enter the container's pid namespace", userns)
		}
		if len(bad) > 0 {
			t.Errorf("user namespace %v: entered the container's pid namespace not as a sealed init: %s", userns, strings.Join(bad, "; "))
		}
	}
}

// traceForks runs cmd under ptrace, following every process it and its
// descendants start, and calls seen with each new process (not thread)
// at its first stop, right after the fork: its /proc/PID/exe is still its
// parent's. It returns cmd's exit code once every traced task is gone.
func traceForks(cmd *exec.Cmd, seen func(pid int)) (int, error) {
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// Every ptrace request must come from the tracing thread. Never
		// unlocked: the thread ends with the goroutine, which detaches
		// whatever might still be traced.
		runtime.LockOSThread()
		code, err := traceLoop(cmd, seen)
		done <- result{code, err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-time.After(60 * time.Second):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		return -1, errors.New("traced command did not finish in 60s")
	}
}

// traceLoop starts cmd traced and resumes every stop of every task it
// follows until none is left.
func traceLoop(cmd *exec.Cmd, seen func(pid int)) (int, error) {
	cmd.SysProcAttr = &unix.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return -1, err
	}
	main := cmd.Process.Pid
	var ws unix.WaitStatus
	if _, err := unix.Wait4(main, &ws, unix.WALL, nil); err != nil { // stopped at execve
		return -1, err
	}
	opts := unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL
	if err := unix.PtraceSetOptions(main, opts); err != nil {
		return -1, err
	}
	known := map[int]bool{main: true}
	code := -1
	for pid, sig := main, 0; ; {
		if pid != 0 {
			_ = unix.PtraceCont(pid, sig) // ESRCH: killed meanwhile
		}
		var err error
		pid, err = unix.Wait4(-1, &ws, unix.WALL, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			pid, sig = 0, 0
			continue
		case errors.Is(err, unix.ECHILD):
			return code, nil
		case err != nil:
			return code, err
		}
		sig = 0
		switch {
		case ws.Exited() && pid == main:
			code = ws.ExitStatus()
		case ws.Signaled() && pid == main:
			code = 128 + int(ws.Signal())
		case !ws.Stopped():
		case !known[pid]:
			// A new task's first stop (the SIGSTOP it starts with).
			known[pid] = true
			if tgid(pid) == pid {
				seen(pid)
			}
		case ws.StopSignal() != unix.SIGTRAP || ws.TrapCause() <= 0:
			sig = int(ws.StopSignal()) // a signal for the task: deliver it
		}
		if !ws.Stopped() {
			pid = 0 // nothing to resume
		}
	}
}

// tgid returns the thread group (process) of task pid.
func tgid(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}
