package peers

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/imagetest"
	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestDirectBundle runs the imagetest bundle with the runtime's own
// command line, as a shim would: run, then create/start/state/delete.
func TestDirectBundle(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	runtime := runtimeUnderTest(t)
	becomeSubreaper(t)
	dir := shortTempDir(t, "direct")
	root := filepath.Join(dir, "state")
	rt := func(args ...string) []string { return append([]string{"--root", root}, args...) }

	newBundle := func(t *testing.T, id string, args ...string) string {
		b := filepath.Join(dir, id)
		spec := imagetest.Spec(imagetest.SpecOptions{Args: args, CgroupsPath: "/" + id})
		if err := imagetest.NewBundle(b, spec); err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("run", func(t *testing.T) {
		id := uniqueName(t, "run")
		defer checkCgroupGone(t, id)
		b := newBundle(t, id, "sh", "-c", "echo hi; exit 5")
		r := run(t, nil, runtime, rt("run", "--bundle", b, id)...)
		if r.code != 5 || r.stdout != "hi\n" {
			t.Fatalf("run: exit %d (want 5), stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		// run deletes the container itself; this only cleans up after a
		// runtime that failed half-way.
		run(t, nil, runtime, rt("delete", "--force", id)...)
	})

	t.Run("create-start-state-delete", func(t *testing.T) {
		id := uniqueName(t, "life")
		defer checkCgroupGone(t, id)
		b := newBundle(t, id, "sleep", "100")
		pidFile := filepath.Join(dir, id+".pid")
		mustRun(t, nil, runtime, rt("create", "--bundle", b, "--pid-file", pidFile, id)...)
		defer run(t, nil, runtime, rt("delete", "--force", id)...)
		pid := readPid(t, pidFile)
		if st := state(t, runtime, rt, id); st != "created" {
			t.Errorf("state after create: %q", st)
		}
		mustRun(t, nil, runtime, rt("start", id)...)
		if st := state(t, runtime, rt, id); st != "running" {
			t.Errorf("state after start: %q", st)
		}
		mustRun(t, nil, runtime, rt("kill", id, "KILL")...)
		mustRun(t, nil, runtime, rt("delete", "--force", id)...)
		reap(t, pid)
		if r := run(t, nil, runtime, rt("state", id)...); r.code == 0 {
			t.Errorf("state after delete succeeded: %s", r.stdout)
		}
	})

	// A detached process that exits at once, even before the runtime
	// itself has exited, leaves its exit status to the subreaper (the
	// shim, conmon): the runtime must never reap it.
	t.Run("detached-exit-status-reaches-subreaper", func(t *testing.T) {
		id := uniqueName(t, "det")
		defer checkCgroupGone(t, id)
		b := newBundle(t, id, "sleep", "100")
		mustRun(t, nil, runtime, rt("run", "--detach", "--bundle", b, id)...)
		defer run(t, nil, runtime, rt("delete", "--force", id)...)
		for i := range 20 {
			pidFile := filepath.Join(dir, id+"-exec.pid")
			mustRun(t, nil, runtime, rt("exec", "--detach", "--pid-file", pidFile, id, "sh", "-c", "exit 4")...)
			if code := waitExit(t, readPid(t, pidFile)); code != 4 {
				t.Fatalf("exec --detach, round %d: the subreaper saw exit %d, want 4", i, code)
			}
		}
		for i := range 10 {
			rid := fmt.Sprintf("%s-%d", id, i)
			rb := newBundle(t, rid, "sh", "-c", "exit 7")
			pidFile := filepath.Join(dir, rid+".pid")
			mustRun(t, nil, runtime, rt("run", "--detach", "--pid-file", pidFile, "--bundle", rb, rid)...)
			code := waitExit(t, readPid(t, pidFile))
			mustRun(t, nil, runtime, rt("delete", rid)...)
			checkCgroupGone(t, rid)
			if code != 7 {
				t.Fatalf("run --detach, round %d: the subreaper saw exit %d, want 7", i, code)
			}
		}
	})
}

// waitExit waits for pid, our child once its runtime exited (we are the
// subreaper), and returns its exit code; ECHILD means someone else reaped
// it and fails the test.
func waitExit(t *testing.T, pid int) int {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("wait4 %d: %v (its exit status was taken by someone else)", pid, err)
		}
		return ws.ExitStatus()
	}
}

// readPid reads a --pid-file.
func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q", path, b)
	}
	return pid
}

// becomeSubreaper makes the test process the child subreaper, as a shim
// is, so the container init that `create` leaves behind is re-parented to
// us and can be reaped by PID; it is undone when the test ends.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reap waits for the container init pid (our child, since we are the
// subreaper) to exit after kill and delete, and fails the test if it does
// not within a generous grace period.
func reap(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || errors.Is(err, unix.ECHILD) {
			return
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			t.Errorf("wait4 %d: %v", pid, err)
			return
		}
		if time.Now().After(deadline) {
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Errorf("container init pid %d still running after kill and delete --force: %s", pid, stat)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// state returns the "status" field of `runtime state id`.
func state(t *testing.T, runtime string, rt func(...string) []string, id string) string {
	t.Helper()
	var s struct {
		Status string `json:"status"`
	}
	out := mustRun(t, nil, runtime, rt("state", id)...)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("state output %q: %v", out, err)
	}
	return s.Status
}
