package shim_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/imagetest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/shim"
	"github.com/berth-dev/berth/shim/logs"
)

// shimBin and berthRuntime are the binaries under test.
var shimBin, berthRuntime string

func TestMain(m *testing.M) {
	if addr := os.Getenv("BERTH_SHIM_TEST_DIAL"); addr != "" {
		os.Exit(dialHelper(addr))
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	syscall.Umask(0o022)
	shimBin = filepath.Join(repo, "bin", "berth-shim")
	berthRuntime = filepath.Join(repo, "bin", "berth-runtime")
	os.Exit(m.Run())
}

// env is one test's runtime, directories and shim.
type env struct {
	t       *testing.T
	runtime string // the runtime binary
	dir     string
	cfg     shim.Config
	client  *shim.Client
	shimPid int
	bin     string // berth-shim, when not shimBin
}

// sideBySide runs f as subtests "berth-runtime", "in-process" and,
// where runc is installed, "runc", each with the leak check and its own
// directories. The shim starts berth-runtime's containers through the
// exec fifo, as the engine has it do, and runc's through runc's start;
// in "in-process" it runs berth-runtime's delete and kill as
// package runtime in its own process, as the engine has it do too.
func sideBySide(t *testing.T, f func(t *testing.T, e *env)) {
	for _, inProcess := range []bool{false, true} {
		name := "berth-runtime"
		if inProcess {
			name = "in-process"
		}
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(berthRuntime); err != nil {
				t.Skipf("no berth-runtime (run make build): %v", err)
			}
			e := newEnv(t, berthRuntime)
			e.cfg.FifoStart, e.cfg.InProcess = true, inProcess
			f(t, e)
		})
	}
	t.Run("runc", func(t *testing.T) {
		runc, err := exec.LookPath("runc")
		if err != nil {
			t.Skip("runc is not installed")
		}
		f(t, newEnv(t, runc))
	})
}

func newEnv(t *testing.T, rt string) *env {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := os.Stat(shimBin); err != nil {
		t.Skipf("no berth-shim (run make build): %v", err)
	}
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	e := &env{t: t, runtime: rt, dir: dir}
	e.cfg = shim.Config{
		ID:          "berth-shim-test-" + strings.ToLower(filepath.Base(filepath.Dir(dir))[len("Test"):]),
		Bundle:      filepath.Join(dir, "bundle"),
		Runtime:     rt,
		RuntimeRoot: filepath.Join(dir, "root"),
		StateDir:    filepath.Join(dir, "state"),
		Log:         filepath.Join(dir, "ctr.log"),
	}
	if len(e.cfg.ID) > 60 {
		e.cfg.ID = e.cfg.ID[:60]
	}
	t.Cleanup(e.cleanup)
	return e
}

// bundle writes a busybox bundle running args; mod may change the spec.
func (e *env) bundle(args []string, mod func(*specs.Spec)) {
	e.t.Helper()
	s := imagetest.Spec(imagetest.SpecOptions{Args: args, Terminal: e.cfg.Terminal})
	s.Process.Rlimits = nil
	if mod != nil {
		mod(s)
	}
	if err := imagetest.NewBundle(e.cfg.Bundle, s); err != nil {
		e.t.Fatal(err)
	}
}

// launch starts the shim for e.cfg.
func (e *env) launch() *shim.Client {
	e.t.Helper()
	bin := shimBin
	if e.bin != "" {
		bin = e.bin
	}
	c, err := shim.Launch(context.Background(), bin, e.cfg)
	if err != nil {
		e.t.Fatalf("launch: %v", err)
	}
	e.client = c
	st, err := c.State(context.Background(), "")
	if err != nil {
		e.t.Fatalf("state: %v", err)
	}
	e.shimPid = st.ShimPid
	return c
}

// run starts a container running args under a new shim.
func (e *env) run(args []string) *shim.Client {
	e.t.Helper()
	e.bundle(args, nil)
	return e.launch()
}

// cleanup removes whatever the test left: the container through its
// shim or through Cleanup, then waits for the shim to be gone.
func (e *env) cleanup() {
	ctx := context.Background()
	if _, err := os.Stat(e.cfg.StateDir); err == nil {
		if r, err := shim.Load(ctx, e.cfg.StateDir); err == nil {
			if r.Client != nil {
				r.Client.Delete(ctx, "", true)
			} else if err := shim.Cleanup(ctx, r); err != nil {
				e.t.Errorf("cleanup: %v", err)
			}
		}
	}
	if e.shimPid != 0 {
		waitGone(e.t, e.shimPid)
	}
}

// waitGone waits (for a bounded while) until pid no longer runs.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // gone already
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 30_000)
		if err == unix.EINTR {
			continue
		}
		if n == 0 || err != nil {
			t.Fatalf("process %d still runs: %v", pid, err)
		}
		return
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func itoa(n int) string { return strconv.Itoa(n) }

// wait waits for the init (or execID) and returns its exit.
func (e *env) wait(execID string) *shim.Exit {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ex, err := e.client.Wait(ctx, execID)
	if err != nil {
		e.t.Fatalf("wait: %v", err)
	}
	return ex
}

// logLines reads the container's log lines as "stream:line".
func (e *env) logLines() []string {
	e.t.Helper()
	var out []string
	err := logs.Read(context.Background(), e.cfg.Log, logs.ReadOptions{}, func(en logs.Entry) error {
		out = append(out, en.Stream+":"+string(en.Line))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// runtimeKnows reports whether the runtime still has the container.
func (e *env) runtimeKnows() bool {
	cmd := exec.Command(e.runtime, "--root", e.cfg.RuntimeRoot, "state", e.cfg.ID)
	return cmd.Run() == nil
}

// processSpec returns the bundle's process with args, for Exec.
func processSpec(t *testing.T, args []string, terminal bool) json.RawMessage {
	t.Helper()
	p := imagetest.Spec(imagetest.SpecOptions{Args: args, Terminal: terminal}).Process
	p.Rlimits = nil
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dialHelper runs in a child as another user: 0 if it could connect.
func dialHelper(addr string) int {
	c := shim.NewClient(addr, "x")
	if _, err := c.State(context.Background(), ""); err != nil {
		if strings.Contains(err.Error(), "permission denied") {
			return 3
		}
		return 4
	}
	return 0
}
