package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2ChildEnv marks the re-executed test binary that runs in a private
// mount namespace with a fresh cgroup2 mount.
const v2ChildEnv = "BERTH_CGROUPS_V2_CHILD"

// TestUnifiedPrivateMount exercises the pure-v2 code on this hybrid host:
// the test binary re-executes itself in a new mount namespace, mounts the
// cgroup2 hierarchy on a temp dir and points Config.Root at it. Controllers
// bound to v1 hierarchies are absent there, so it checks what cgroup2
// offers without them: placement, listing, freeze, CLONE_INTO_CGROUP,
// cgroup.kill, hugetlb when offered, and clear errors for the rest.
func TestUnifiedPrivateMount(t *testing.T) {
	testutil.RequireRoot(t)
	if os.Getenv(v2ChildEnv) != "" {
		unifiedChild(t)
		return
	}
	testutil.CheckLeaks(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnifiedPrivateMount$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), v2ChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test failed: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("child:\n%s", out)
}

// unifiedChild is the body of TestUnifiedPrivateMount in the re-executed
// binary. The leak check runs in the parent: from inside a private mount
// namespace every host process (kernel threads included) lives in
// "another mount namespace" and would count as leaked, while the mounts
// made here vanish with the namespace.
func unifiedChild(t *testing.T) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / rprivate: %v", err)
	}
	root := t.TempDir()
	if err := unix.Mount("cgroup2", root, "cgroup2", 0, ""); err != nil {
		t.Skipf("cannot mount cgroup2: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", root, err)
		}
	})
	if mode := detectMode(root); mode != Unified {
		t.Fatalf("detectMode(%s) = %s", root, mode)
	}
	rootSubtree := readBack(t, root, "cgroup.subtree_control")
	t.Cleanup(func() {
		// Leave the host's root delegation as it was.
		now := readBack(t, root, "cgroup.subtree_control")
		for _, c := range strings.Fields(now) {
			if !strings.Contains(" "+rootSubtree+" ", " "+c+" ") {
				_ = writeFile(root, "cgroup.subtree_control", "-"+c)
			}
		}
	})

	name := testName(t)
	m, err := New(Config{Path: "/" + name, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Path(""); got != filepath.Join(root, name) {
		t.Fatalf("cgroup2 path = %s", got)
	}
	if st := m.State(); st.Mode != Unified || len(st.Paths) != 1 {
		t.Fatalf("state = %+v", st)
	}
	destroyAtEnd(t, m)
	first := startSleep(t)
	if err := m.Apply(first.Process.Pid); err != nil {
		t.Fatal(err)
	}
	procs := readBack(t, m.Path(""), "cgroup.procs")
	if procs != strconv.Itoa(first.Process.Pid) {
		t.Fatalf("cgroup.procs = %q", procs)
	}

	// A second process is born inside the cgroup with CLONE_INTO_CGROUP.
	f, err := m.OpenUnified()
	if err != nil {
		t.Fatal(err)
	}
	second := exec.Command("sleep", "1000")
	second.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := second.Start(); err != nil {
		f.Close()
		t.Fatalf("clone into cgroup: %v", err)
	}
	f.Close()
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })

	pids, err := m.Pids()
	if err != nil || len(pids) != 2 || !hasPid(pids, first.Process.Pid) || !hasPid(pids, second.Process.Pid) {
		t.Fatalf("Pids() = %v, %v", pids, err)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st, err := m.FreezerState(); err != nil || st != Frozen {
		t.Fatalf("FreezerState = %q, %v", st, err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if st, err := m.FreezerState(); err != nil || st != Thawed {
		t.Fatalf("FreezerState after thaw = %q, %v", st, err)
	}

	if _, err := m.Stats(); err != nil {
		t.Fatal(err)
	}
	// pids is bound to a v1 hierarchy on this host: a clear error.
	err = m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(10))}})
	if fileExists(m.Path(""), "pids.max") {
		if err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("pids limit without the controller: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"nosuch.file": "1"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown unified key: %v", err)
	}
	if fileExists(m.Path(""), "hugetlb.2MB.max") {
		if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}}); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, m.Path(""), "hugetlb.2MB.max"); got != "8388608" {
			t.Fatalf("hugetlb.2MB.max = %s", got)
		}
		if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"hugetlb.2MB.max": "4194304"}}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("hugetlb not offered in cgroup2 here")
	}

	// Device rules become an eBPF program: /dev/null stays usable,
	// /dev/zero does not, for a process born in the cgroup.
	err = m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	canOpen := func(dev string) bool {
		f, err := m.OpenUnified()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		probe := exec.Command("sh", "-c", "exec 3<"+dev)
		probe.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
		return probe.Run() == nil
	}
	if !canOpen("/dev/null") || canOpen("/dev/zero") {
		t.Error("device program: want /dev/null allowed and /dev/zero denied")
	}
	// A later Set replaces the program rather than adding to it.
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}); err != nil {
		t.Fatal(err)
	}
	if !canOpen("/dev/zero") {
		t.Error("replacing the device program with allow-all left /dev/zero denied")
	}

	if err := m.KillAll(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*exec.Cmd{first, second} {
		if err := c.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("sleep ended with %v, want killed", err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if m.Exists() {
		t.Fatal("cgroup exists after Destroy")
	}
}
