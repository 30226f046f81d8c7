package cgroups_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/cgroups/cgroupstest"
	"github.com/berth-dev/berth/internal/testutil"
)

// testUnifiedOnly checks what only the unified hierarchy offers, on a
// cgroup2 mount at root: one directory, CLONE_INTO_CGROUP, controllers
// absent from it refused clearly, unified keys, hugetlb when offered and
// eBPF device programs.
func testUnifiedOnly(t *testing.T, root string, newManager cgroupstest.Factory) {
	name := testutil.Name(t)
	m, err := newManager(cgroups.Config{Path: "/" + name})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Path(""); got != filepath.Join(root, name) {
		t.Fatalf("cgroup2 path = %s", got)
	}
	if st := m.State(); st.Mode != cgroups.Unified || len(st.Paths) != 1 {
		t.Fatalf("state = %+v", st)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	if err := m.Apply(testutil.StartSleep(t).Process.Pid); err != nil {
		t.Fatal(err)
	}
	// A second process is born inside the cgroup with CLONE_INTO_CGROUP.
	second := startIn(t, m, "sleep", "1000")
	if err := second.Start(); err != nil {
		t.Fatalf("clone into cgroup: %v", err)
	}
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })
	if pids, err := m.Pids(); err != nil || len(pids) != 2 {
		t.Fatalf("Pids() = %v, %v; want the two processes", pids, err)
	}

	// pids is bound to a v1 hierarchy on this host: a clear error.
	limit := int64(10)
	err = m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}})
	if exists(m.Path(""), "pids.max") {
		if err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, cgroups.ErrNotSupported) {
		t.Fatalf("pids limit without the controller: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"nosuch.file": "1"}}); !errors.Is(err, cgroups.ErrInvalid) {
		t.Fatalf("unknown unified key: %v", err)
	}
	if exists(m.Path(""), "hugetlb.2MB.max") {
		if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(m.Path(""), "hugetlb.2MB.max")); strings.TrimSpace(string(b)) != "8388608" {
			t.Fatalf("hugetlb.2MB.max = %s", b)
		}
		if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"hugetlb.2MB.max": "4194304"}}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("hugetlb not offered in cgroup2 here")
	}
	testDeviceProgram(t, m)
	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("sleep ended with %v, want killed", err)
	}
}

// testDeviceProgram checks that device rules become an eBPF program:
// /dev/null stays usable, /dev/zero does not, for a process born in the
// cgroup, and a later Set replaces the program rather than adding to it.
func testDeviceProgram(t *testing.T, m cgroups.Manager) {
	one, three := int64(1), int64(3)
	err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &one, Minor: &three, Access: "rwm"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	canOpen := func(dev string) bool { return startIn(t, m, "sh", "-c", "exec 3<"+dev).Run() == nil }
	if !canOpen("/dev/null") || canOpen("/dev/zero") {
		t.Error("device program: want /dev/null allowed and /dev/zero denied")
	}
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}); err != nil {
		t.Fatal(err)
	}
	if !canOpen("/dev/zero") {
		t.Error("replacing the device program with allow-all left /dev/zero denied")
	}
}

// startIn returns a command that starts inside m's cgroup
// (CLONE_INTO_CGROUP); the descriptor it needs is closed when t ends.
func startIn(t *testing.T, m cgroups.Manager, name string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := m.OpenUnified()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	return cmd
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}
