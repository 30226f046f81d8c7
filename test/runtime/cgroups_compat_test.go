package runtime_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRunIntoFrozenCgroup: `run -d` into an existing, frozen cgroup fails
// at once, as runc's does, instead of waiting for ever for an init that
// cannot run; no state and no process are left, and the cgroup, which the
// runtime did not make, stays.
func TestRunIntoFrozenCgroup(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		id := e.id()
		cg := "/" + id
		dir := frozenCgroup(t, e, cg)
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) { s.Linux.CgroupsPath = cg })
		start := time.Now()
		code, stderr := runWithin(t, e, 20*time.Second, "run", "-d", "--bundle", b, id)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("run -d took %v", took)
		}
		if code == 0 {
			t.Fatal("run -d into a frozen cgroup succeeded")
		}
		if !strings.Contains(stderr, "frozen") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("error %q: want one line that says the cgroup is frozen", stderr)
		}
		if out := e.must("list", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("containers left: %q", out)
		}
		if procs, _ := readFileString(filepath.Join(dir, "cgroup.procs")); procs != "" {
			t.Errorf("processes left in the frozen cgroup: %s", procs)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("the runtime removed a cgroup it did not make: %v", err)
		}
	})
}

// runWithin runs the env's runtime with a deadline: a runtime that hangs
// is killed. Stdout is discarded (a detached container may hold it).
func runWithin(t *testing.T, e *env, d time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.binary(), append([]string{"--root", e.root}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("%s %s: still running after %v", e.binary(), strings.Join(args, " "), d)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, stderr.String()
}

// frozenCgroup makes cgroup path cg in the freezer hierarchy (v1, else
// cgroup2) and freezes it; when the test ends it thaws it, kills what is
// in it and removes it.
func frozenCgroup(t *testing.T, e *env, cg string) string {
	t.Helper()
	mounts := cgroupMounts(t)
	file, value := "freezer.state", "FROZEN"
	mp := mounts["freezer"]
	if mp == "" {
		file, value = "cgroup.freeze", "1"
		mp = mounts[""]
	}
	if mp == "" {
		t.Skip("no freezer: neither a v1 freezer nor cgroup2 is mounted")
	}
	dir := filepath.Join(mp, cg)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		thaw := map[string]string{"freezer.state": "THAWED", "cgroup.freeze": "0"}[file]
		os.WriteFile(filepath.Join(dir, file), []byte(thaw), 0o644)
		deleteAll(e)
		removeCgroup(t, dir)
	})
	if !fileExists(filepath.Join(dir, file)) {
		t.Skipf("%s has no %s", dir, file)
	}
	writeFile(t, filepath.Join(dir, file), value)
	return dir
}

// deleteAll force-deletes the env's containers.
func deleteAll(e *env) {
	for _, id := range e.ids {
		e.run("delete", "--force", id)
	}
}

// removeCgroup kills whatever is left in a cgroup directory and removes
// it.
func removeCgroup(t *testing.T, dir string) {
	for i := 0; i < 100; i++ {
		s, _ := readFileString(filepath.Join(dir, "cgroup.procs"))
		for _, p := range strings.Fields(s) {
			pid := 0
			sscan(p, &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := syscall.Rmdir(dir); err == nil || err == syscall.ENOENT {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("cannot remove cgroup %s", dir)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
