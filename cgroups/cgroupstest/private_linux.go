package cgroupstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// privateEnv marks the re-executed test binary that runs in a private
// mount namespace with a fresh cgroup2 mount.
const privateEnv = "BERTH_CGROUPS_PRIVATE_UNIFIED"

// InPrivateUnified runs body with the root of a fresh cgroup2 mount, so
// that the unified (pure v2) code runs on a hybrid host too: the test
// binary re-executes itself, for top-level test t only, in a new mount
// namespace, where it mounts cgroup2 on a temporary directory. The leak
// check runs in the parent: from inside a private mount namespace every
// host process would count as leaked, while the mounts made there vanish
// with the namespace. It skips when cgroup2 cannot be mounted.
func InPrivateUnified(t *testing.T, body func(t *testing.T, root string)) {
	testutil.RequireRoot(t)
	if os.Getenv(privateEnv) != "" {
		inChild(t, body)
		return
	}
	testutil.CheckLeaks(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), privateEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test failed: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP: "+t.Name()+" ") {
		t.Skipf("child skipped:\n%s", out)
	}
	t.Logf("child:\n%s", out)
}

// inChild mounts cgroup2 in the child's private mount namespace and runs
// body, leaving the hierarchy's root delegation as it found it.
func inChild(t *testing.T, body func(t *testing.T, root string)) {
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
	subtree := filepath.Join(root, "cgroup.subtree_control")
	before, err := os.ReadFile(subtree)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		now, _ := os.ReadFile(subtree)
		for _, c := range strings.Fields(string(now)) {
			if !slices.Contains(strings.Fields(string(before)), c) {
				_ = os.WriteFile(subtree, []byte("-"+c), 0)
			}
		}
	})
	body(t, root)
}
