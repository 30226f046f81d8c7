package shim_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/shim"
)

func TestSocketIsPrivatePath(t *testing.T) {
	if _, err := os.Stat(berthRuntime); err != nil {
		t.Skipf("no berth-runtime (run make build): %v", err)
	}
	e := newEnv(t, berthRuntime)
	c := e.run([]string{"sleep", "1000"})
	if c.Addr != filepath.Join(e.cfg.StateDir, shim.SocketFile) {
		t.Fatalf("socket %s, want %s", c.Addr, filepath.Join(e.cfg.StateDir, shim.SocketFile))
	}
	st, err := os.Lstat(c.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a 0600 socket", st.Mode())
	}
	// The kernel lists an abstract socket with a leading @: the shim has
	// none, only its path.
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), c.Addr) {
		t.Fatalf("/proc/net/unix does not list %s", c.Addr)
	}
	if strings.Contains(string(b), "@"+c.Addr) || strings.Contains(string(b), "@"+e.cfg.ID) {
		t.Fatal("the shim listens on an abstract socket")
	}
	// Another user cannot connect, by the socket's own mode too: open the
	// directories up so that only the socket's 0600 stands in the way.
	for _, d := range []string{e.cfg.StateDir, filepath.Dir(e.cfg.StateDir), filepath.Dir(filepath.Dir(e.cfg.StateDir))} {
		os.Chmod(d, 0o755)
	}
	helper := copyExe(t)
	cmd := exec.Command(helper)
	cmd.Env = []string{"BERTH_SHIM_TEST_DIAL=" + c.Addr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("nobody's connect: exit %d (%v), want 3 (permission denied)", code, err)
	}
}

// copyExe copies the test binary where user nobody can run it.
func copyExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "berth-shim-helper-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "helper")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSurvivesParentSIGKILL(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		e.bundle([]string{"sleep", "1000"}, nil)
		// The parent starts the shim and stays; it is then killed.
		parent := exec.Command("/bin/sh", append([]string{"-c", `"$0" start "$@" && exec sleep 1000`, shimBin}, e.cfg.Args()...)...)
		out, err := parent.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := parent.Start(); err != nil {
			t.Fatal(err)
		}
		addr, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			parent.Process.Kill()
			parent.Wait()
			t.Fatalf("no address from start: %v", err)
		}
		parent.Process.Signal(syscall.SIGKILL)
		parent.Wait()
		e.client = shim.NewClient(strings.TrimSpace(addr), e.cfg.ID)
		st, err := e.client.State(ctx, "")
		if err != nil || st.Status != shim.StatusRunning || !alive(st.Pid) {
			t.Fatalf("after the parent's death: %+v %v, want running", st, err)
		}
		e.shimPid = st.ShimPid
		// sleep as pid 1 ignores SIGTERM: SIGKILL it.
		if err := e.client.Kill(ctx, "", int(syscall.SIGKILL), false); err != nil {
			t.Fatal(err)
		}
		if ex := e.wait(""); ex.Signal != int(syscall.SIGKILL) || ex.Code != 137 {
			t.Fatalf("exit %+v, want SIGKILL, 137", ex)
		}
	})
}

func TestExitSurvivesShimSIGKILL(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		e.run([]string{"sh", "-c", "exit 7"})
		if ex := e.wait(""); ex.Code != 7 {
			t.Fatalf("exit %+v, want 7", ex)
		}
		syscall.Kill(e.shimPid, syscall.SIGKILL)
		waitGone(t, e.shimPid)
		r, err := shim.Load(ctx, e.cfg.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		if r.Client != nil || r.Exit == nil || r.Exit.Code != 7 || r.Exit.Reason != shim.ReasonExited {
			t.Fatalf("loaded %+v exit %+v, want no client and code 7", r, r.Exit)
		}
		if err := shim.Cleanup(ctx, r); err != nil {
			t.Fatal(err)
		}
		e.noTrace(t, false)
	})
}

func TestShimSIGKILLWhileRunning(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		e.cfg.StartNow = true
		c := e.run([]string{"sleep", "1000"})
		st, err := c.State(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(e.shimPid, syscall.SIGKILL)
		waitGone(t, e.shimPid)
		r, err := shim.Load(ctx, e.cfg.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		if r.Client != nil || r.Exit == nil || r.Exit.Reason != shim.ReasonShimDied {
			t.Fatalf("loaded %+v, want no client and reason %q", r, shim.ReasonShimDied)
		}
		// The container outlives its shim: the runtime still has it.
		if !alive(st.Pid) || !e.runtimeKnows() {
			t.Fatalf("container init %d alive %v, runtime knows it %v", st.Pid, alive(st.Pid), e.runtimeKnows())
		}
		again, err := shim.Load(ctx, e.cfg.StateDir)
		if err != nil || again.Exit.Reason != shim.ReasonShimDied || !again.Exit.Time.Equal(r.Exit.Time) {
			t.Fatalf("a second load says %+v %v, want the first's record", again, err)
		}
		if err := shim.Cleanup(ctx, r); err != nil {
			t.Fatal(err)
		}
		e.noTrace(t, false)
		if alive(st.Pid) {
			t.Fatalf("container init %d runs after cleanup", st.Pid)
		}
	})
}
