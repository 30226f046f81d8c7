//go:build cgo

package seccomp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/seccomp/load"
	"github.com/berth-dev/berth/seccomp/notify"
)

// helperEnv makes the test binary act as a container init: it reads a
// helperRequest on stdin, loads the filter on its locked thread and then
// execs busybox (or probes raw syscalls).
const helperEnv = "BERTH_TEST_SECCOMP_HELPER"

// helperRequest is what a test asks the helper to do.
type helperRequest struct {
	Program *Program `json:"program"`
	// Argv is run as /bin/busybox argv... after the filter is loaded.
	Argv []string `json:"argv,omitempty"`
	// Probe, if set instead of Argv, names raw syscalls to try; the
	// helper prints "name errno" for each and exits.
	Probe []string `json:"probe,omitempty"`
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runHelper()
	}
	os.Exit(m.Run())
}

func runHelper() {
	runtime.LockOSThread()
	fail := func(code int, err error) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(code)
	}
	var req helperRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(2, err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(2, err)
	}
	fd, err := load.Load(req.Program)
	if err != nil {
		fail(3, err)
	}
	if fd >= 0 {
		st := notify.NewState(os.Getpid(), req.Program.ListenerMetadata, specs.State{ID: "berth-test", Status: specs.StateCreated})
		if err := notify.SendListener(req.Program.ListenerPath, fd, st); err != nil {
			fail(3, err)
		}
		unix.Close(fd)
	}
	if len(req.Probe) > 0 {
		for _, name := range req.Probe {
			fmt.Printf("%s %d\n", name, probe(name))
		}
		os.Exit(0)
	}
	err = unix.Exec("/bin/busybox", req.Argv, []string{"PATH=/bin"})
	fail(4, err)
}

// probe makes one raw syscall on this thread with arguments chosen to be
// harmless even if the filter let it through, and returns its errno.
func probe(name string) unix.Errno {
	var e unix.Errno
	switch name {
	case "keyctl":
		_, _, e = unix.RawSyscall(unix.SYS_KEYCTL, 0 /* KEYCTL_GET_KEYRING_ID */, ^uintptr(0), 0)
	case "add_key":
		_, _, e = unix.RawSyscall6(unix.SYS_ADD_KEY, 0, 0, 0, 0, 0, 0)
	case "request_key":
		_, _, e = unix.RawSyscall6(unix.SYS_REQUEST_KEY, 0, 0, 0, 0, 0, 0)
	case "unshare":
		// An invalid flag: EINVAL if it got through, EPERM if filtered.
		_, _, e = unix.RawSyscall(unix.SYS_UNSHARE, 1<<0, 0, 0)
	case "mount":
		_, _, e = unix.RawSyscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0)
	case "clone3":
		_, _, e = unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
	case "personality-bad":
		_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0x0400000, 0, 0)
	case "personality-query":
		_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	case "syscall-1000":
		// No such syscall: the kernel says ENOSYS, and so must the filter.
		_, _, e = unix.RawSyscall(1000, 0, 0, 0)
	case "getpid":
		_, _, e = unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	case "ptrace":
		_, _, e = unix.RawSyscall6(unix.SYS_PTRACE, 0xdead, 0, 0, 0, 0, 0)
	case "kcmp":
		_, _, e = unix.RawSyscall6(unix.SYS_KCMP, 0, 0, 0xdead, 0, 0, 0)
	case "reboot":
		_, _, e = unix.RawSyscall6(unix.SYS_REBOOT, 0, 0, 0, 0, 0, 0)
	default:
		panic("unknown probe " + name)
	}
	return e
}

// helperResult is how a helper run ended.
type helperResult struct {
	stdout, stderr string
	state          *os.ProcessState
}

// runHelperProc runs the helper with req and waits for it. The timeout
// only guards against a hung child; no test asserts on durations.
func runHelperProc(t *testing.T, req helperRequest) helperResult {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{helperEnv + "=1"}
	cmd.Stdin = bytes.NewReader(b)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return helperResult{stdout.String(), stderr.String(), cmd.ProcessState}
}
