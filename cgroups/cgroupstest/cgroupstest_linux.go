package cgroupstest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/internal/testutil"
)

// Factory makes a manager on the host layout under test: cgroups.New,
// with Config.Root set for a private hierarchy.
type Factory func(cfg cgroups.Config) (cgroups.Manager, error)

// Run runs the suite: each test makes its own cgroup and removes it.
func Run(t *testing.T, newManager Factory) {
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newManager) })
	t.Run("ApplyThenAddProc", func(t *testing.T) { testApplyThenAddProc(t, newManager) })
	t.Run("NestedPathRemovedWhole", func(t *testing.T) { testNestedPath(t, newManager) })
	t.Run("InvalidResourcesRefused", func(t *testing.T) { testInvalid(t, newManager) })
}

// mustNew makes a manager or fails t, and destroys it when t ends.
func mustNew(t *testing.T, newManager Factory, cfg cgroups.Config) cgroups.Manager {
	t.Helper()
	m, err := newManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	return m
}

// testLifecycle places a process, rebuilds the manager from its JSON
// state as a later runtime process does, freezes, thaws, reads stats,
// kills everything and destroys the cgroup, twice.
func testLifecycle(t *testing.T, newManager Factory) {
	name := testutil.Name(t)
	m := mustNew(t, newManager, cgroups.Config{Path: "/" + name, ID: name})
	cmd := testutil.StartSleep(t)
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if !m.Exists() {
		t.Fatal("Exists() = false after Apply")
	}
	// Every hierarchy holds the process, in a directory of the cgroup's name.
	for ctrl, d := range m.State().Paths {
		if filepath.Base(d) != name {
			t.Errorf("%q path %s does not end in %s", ctrl, d, name)
		}
		if procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs")); !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pid)) {
			t.Errorf("pid %d not in %s", pid, d)
		}
	}
	if pids, err := m.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids() = %v, %v; want %d in it", pids, err, pid)
	}
	b, err := json.Marshal(m.State())
	if err != nil {
		t.Fatal(err)
	}
	var s cgroups.State
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	m2, err := cgroups.Load(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		do   func() error
		want cgroups.FreezerState
	}{{m2.Freeze, cgroups.Frozen}, {m2.Thaw, cgroups.Thawed}} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if st, err := m2.FreezerState(); err != nil || st != step.want {
			t.Fatalf("FreezerState = %q, %v; want %q", st, err, step.want)
		}
	}
	if _, err := m2.Stats(); err != nil {
		t.Fatal(err)
	}
	if err := m2.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("sleep ended with %v, want killed", err)
	}
	if err := m2.Destroy(); err != nil {
		t.Fatal(err)
	}
	if m2.Exists() || m.Exists() {
		t.Fatal("cgroup still exists after Destroy")
	}
	if err := m2.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}

// testApplyThenAddProc creates the cgroup without a process, as create
// does before the init exists, and moves one in afterwards.
func testApplyThenAddProc(t *testing.T, newManager Factory) {
	name := testutil.Name(t)
	m := mustNew(t, newManager, cgroups.Config{Path: "/" + name})
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	if !m.Exists() {
		t.Fatal("Apply(-1) did not create the cgroup")
	}
	cmd := testutil.StartSleep(t)
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("Pids() = %v, %v", pids, err)
	}
	if err := m.AddProc(0); !errors.Is(err, cgroups.ErrInvalid) {
		t.Fatalf("AddProc(0) = %v, want ErrInvalid", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// testNestedPath makes a cgroup whose parents do not exist: Destroy
// removes them too, up to the topmost one Apply created.
func testNestedPath(t *testing.T, newManager Factory) {
	name := testutil.Name(t)
	m := mustNew(t, newManager, cgroups.Config{Path: "/" + name + "/pod/ctr"})
	cmd := testutil.StartSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	created := m.State().Created
	if len(created) == 0 {
		t.Fatal("State().Created is empty after creating new directories")
	}
	for leaf, top := range created {
		if filepath.Base(top) != name || !strings.HasPrefix(leaf, top+"/") {
			t.Errorf("Created[%s] = %s, want the %s directory above it", leaf, top, name)
		}
	}
	if err := m.KillAll(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, top := range created {
		if _, err := os.Stat(top); !os.IsNotExist(err) {
			t.Errorf("top-level directory %s left: %v", top, err)
		}
	}
}

// testInvalid checks that resources no kernel takes are refused by New,
// before anything is made.
func testInvalid(t *testing.T, newManager Factory) {
	name := testutil.Name(t)
	limit, low := int64(64<<20), int64(32<<20)
	neg := int64(-7)
	for label, r := range map[string]*specs.LinuxResources{
		"swap below memory": {Memory: &specs.LinuxMemory{Limit: &limit, Swap: &low}},
		"negative pids":     {Pids: &specs.LinuxPids{Limit: &neg}},
	} {
		if _, err := newManager(cgroups.Config{Path: "/" + name, Resources: r}); !errors.Is(err, cgroups.ErrInvalid) {
			t.Errorf("%s: New error = %v, want ErrInvalid", label, err)
		}
	}
}
