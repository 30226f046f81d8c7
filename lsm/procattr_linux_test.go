package lsm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// helperEnv runs the test binary as a helper that attacks its own /proc
// in a private mount namespace and reports what openProcAttr says.
const helperEnv = "BERTH_TEST_LSM_HELPER"

func init() {
	if os.Getenv(helperEnv) != "" {
		// Pin the main goroutine to the main thread so the helper's
		// work lands on another thread (see runHelper).
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		done := make(chan struct{})
		go func() {
			runHelper(mode)
			close(done)
		}()
		<-done
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper attacks /proc from a private mount namespace of its own
// thread, not of the whole process: the main thread stays in the host's
// namespace, so leak checks of tests running meanwhile do not mistake
// the helper for a container.
func runHelper(mode string) {
	runtime.LockOSThread() // never unlocked: the thread dies with the process
	fail := func(err error) {
		fmt.Println("setup:", err)
		os.Exit(2)
	}
	if unix.Gettid() == unix.Getpid() {
		fail(errors.New("helper runs on the main thread"))
	}
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		fail(err)
	}
	// Keep every mount below inside this thread's own namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail(err)
	}
	scratch := os.Getenv("BERTH_TEST_LSM_SCRATCH")
	switch mode {
	case "bind-over-attr":
		// Cover this thread's exec attribute with an ordinary file.
		decoy := filepath.Join(scratch, "decoy")
		if err := os.WriteFile(decoy, nil, 0o600); err != nil {
			fail(err)
		}
		target := fmt.Sprintf("/proc/%d/task/%d/attr/exec", os.Getpid(), unix.Gettid())
		if err := unix.Mount(decoy, target, "", unix.MS_BIND, ""); err != nil {
			fail(err)
		}
	case "fake-proc":
		// Replace /proc with a tmpfs holding look-alike files.
		if err := unix.Mount("berth-test", "/proc", "tmpfs", 0, ""); err != nil {
			fail(err)
		}
		if err := os.MkdirAll("/proc/thread-self/attr", 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile("/proc/thread-self/attr/exec", nil, 0o666); err != nil {
			fail(err)
		}
	case "real":
	default:
		fail(errors.New("unknown mode " + mode))
	}
	f, err := openProcAttr("thread-self/attr/exec")
	switch {
	case errors.Is(err, ErrNotProcfs):
		fmt.Println("refused:", err)
	case err != nil:
		fmt.Println("error:", err)
	default:
		f.Close()
		fmt.Println("opened")
	}
}

func runAttack(t *testing.T, mode string) string {
	t.Helper()
	scratch, err := os.MkdirTemp("", "berth-test-lsm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{helperEnv + "=" + mode, "BERTH_TEST_LSM_SCRATCH=" + scratch}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s: %v: %s", mode, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestOpenProcAttrReal(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := openProcAttr("thread-self/attr/berth-no-such-file", "thread-self/attr/exec")
	if err != nil {
		t.Fatalf("open the real attr file: %v", err)
	}
	f.Close()
	if _, err := openProcAttr("thread-self/attr/berth-no-such-file"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("missing attr file: %v", err)
	}
}

func TestOpenProcAttrNotProcfs(t *testing.T) {
	dir, err := os.MkdirTemp("", "berth-test-lsm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll(filepath.Join(dir, "thread-self/attr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "thread-self/attr/exec"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := procRoot
	procRoot = dir
	defer func() { procRoot = old }()
	if err := writeProcAttr("exec x", "thread-self/attr/exec"); !errors.Is(err, ErrNotProcfs) {
		t.Fatalf("write into a directory that is not procfs: %v", err)
	}
	// A subdirectory of the real procfs is not its root either.
	procRoot = "/proc/self"
	if _, err := openProcAttr("attr/exec"); !errors.Is(err, ErrNotProcfs) {
		t.Fatalf("procfs subdirectory as root: %v", err)
	}
}

// TestOpenProcAttrAttacks is the CVE-2019-16884 guard: a container that
// mounts over /proc or over its attr files must not swallow LSM writes.
func TestOpenProcAttrAttacks(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	if got := runAttack(t, "real"); got != "opened" {
		t.Fatalf("untouched /proc: %s", got)
	}
	for _, mode := range []string{"bind-over-attr", "fake-proc"} {
		got := runAttack(t, mode)
		t.Logf("%s: %s", mode, got)
		if !strings.HasPrefix(got, "refused:") {
			t.Errorf("%s: %s", mode, got)
		}
	}
}
