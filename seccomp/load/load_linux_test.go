package load

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// helperEnv selects a helper mode of the test binary.
const helperEnv = "BERTH_TEST_LOAD_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode)
	}
	os.Exit(m.Run())
}

// runHelper drops to an unprivileged uid without no_new_privs and tries
// to load a filter, which the kernel must refuse with a clear error.
func runHelper(mode string) {
	runtime.LockOSThread()
	if mode != "unprivileged" {
		os.Exit(2)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
		os.Stdout.WriteString("setup: " + e.Error())
		os.Exit(2)
	}
	_, err := Load(&Program{Filter: encode(allowAll)})
	if err == nil {
		os.Stdout.WriteString("loaded")
		os.Exit(0)
	}
	os.Stdout.WriteString(err.Error())
	os.Exit(0)
}

func TestLoadNeedsNoNewPrivs(t *testing.T) {
	testutil.CheckLeaks(t)
	testutil.RequireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{helperEnv + "=unprivileged"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v %s", err, out)
	}
	if !strings.Contains(string(out), "no_new_privs") {
		t.Fatalf("want an error naming no_new_privs, got %q", out)
	}
}

// TestLoadKernelRefusal checks that a flag combination the kernel
// refuses comes back as a wrapped errno. It runs on a goroutine that
// locks its thread and never unlocks it, so the thread (with its
// no_new_privs bit) ends with the goroutine; nothing gets loaded.
func TestLoadKernelRefusal(t *testing.T) {
	testutil.CheckLeaks(t)
	p := &Program{Filter: encode(allowAll), Flags: FlagWaitKillableRecv}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread dies with the goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			done <- err
			return
		}
		_, err := Load(p)
		done <- err
	}()
	if err := <-done; !errors.Is(err, unix.EINVAL) {
		t.Fatalf("WAIT_KILLABLE_RECV without a listener: %v, want EINVAL", err)
	}
}
