package peers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/imagetest"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestDirectBundle runs the imagetest bundle with the runtime's own
// command line, as a shim would: run, then create/start/state/delete.
func TestDirectBundle(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	runtime := runtimeUnderTest(t)
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
		if _, err := os.Stat(pidFile); err != nil {
			t.Errorf("pid file: %v", err)
		}
		if st := state(t, runtime, rt, id); st != "created" {
			t.Errorf("state after create: %q", st)
		}
		mustRun(t, nil, runtime, rt("start", id)...)
		if st := state(t, runtime, rt, id); st != "running" {
			t.Errorf("state after start: %q", st)
		}
		mustRun(t, nil, runtime, rt("kill", id, "KILL")...)
		mustRun(t, nil, runtime, rt("delete", "--force", id)...)
		if r := run(t, nil, runtime, rt("state", id)...); r.code == 0 {
			t.Errorf("state after delete succeeded: %s", r.stdout)
		}
	})
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
