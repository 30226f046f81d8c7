package rootfs

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// envJob names the job file of a helper process.
const envJob = "BERTH_ROOTFS_TEST_JOB"

// job is what the parent test hands the helper process.
type job struct {
	Scenario string
	Config   Config
	Console  bool              // call BindConsole with a fresh pty after Finalize
	Vars     map[string]string // scenario-specific values
}

// scenario is one container set-up run in a helper process.
type scenario struct {
	// wantErr, if set, is the error (errors.Is) one of the phases must
	// return; the helper then succeeds.
	wantErr error
	// check runs inside the container after the phases succeeded.
	check func(t *testing.T, j *job)
}

// testEnv is the host side of one scenario: a shared tmpfs (so that a
// propagation mistake would show on the host) holding the bundle.
type testEnv struct {
	top    string // the tmpfs mount, also the bundle dir
	rootfs string
}

// newEnv mounts a shared tmpfs at a fresh /tmp/berth-test-* directory and
// builds a busybox rootfs in it. Everything is removed by exact path.
func newEnv(t *testing.T) *testEnv {
	t.Helper()
	top, err := os.MkdirTemp("", "berth-test-rootfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := unix.Mount("tmpfs", top, "tmpfs", 0, "mode=755,size=32m"); err != nil {
		t.Fatalf("mount test tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(top, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", top, err)
		}
	})
	if err := unix.Mount("", top, "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make %s shared: %v", top, err)
	}
	e := &testEnv{top: top, rootfs: filepath.Join(top, "rootfs")}
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp"} {
		mustMkdir(t, filepath.Join(e.rootfs, d))
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no busybox: %v", err)
	}
	mustWrite(t, filepath.Join(e.rootfs, "bin/busybox"), string(bb), 0o755)
	return e
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// helperOpts selects the helper's namespaces and what the parent does
// while the container is set up.
type helperOpts struct {
	cloneflags uintptr
	userns     bool
	// whileRunning runs on the host after the helper finished its
	// set-up and checks, while its mounts still exist.
	whileRunning func()
}

// runHelper runs scenario j in a helper process (this test binary with
// -test.run=^TestHelper$) in fresh namespaces and fails t if it fails.
func runHelper(t *testing.T, e *testEnv, j *job, o helperOpts) {
	t.Helper()
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	jobFile := filepath.Join(e.top, "job.json")
	mustWrite(t, jobFile, string(data), 0o600)

	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envJob+"="+jobFile)
	cmd.Stdin = stdinR
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.ExtraFiles = []*os.File{readyW}
	flags := o.cloneflags | unix.CLONE_NEWNS | unix.CLONE_NEWPID
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if o.userns {
		cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	readyW.Close()
	stdinR.Close()
	var b [1]byte
	if n, _ := readyR.Read(b[:]); n == 1 && o.whileRunning != nil {
		o.whileRunning()
	}
	stdinW.Close()
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "\nPASS\n") {
		t.Fatalf("helper %s failed: %v\n%s", j.Scenario, err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "refused as expected") || strings.Contains(line, "set-up took") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// TestHelper is the helper process: it is the container's init, builds
// the rootfs as berth-init would and checks the result from inside.
func TestHelper(t *testing.T) {
	jobFile := os.Getenv(envJob)
	if jobFile == "" {
		t.Skip("only runs as a helper process")
	}
	runtime.LockOSThread()
	data, err := os.ReadFile(jobFile)
	if err != nil {
		t.Fatal(err)
	}
	var j job
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	sc, ok := scenarios[j.Scenario]
	if !ok {
		t.Fatalf("unknown scenario %q", j.Scenario)
	}
	start := time.Now()
	err = runPhases(&j)
	t.Logf("set-up took %v", time.Since(start))
	switch {
	case sc.wantErr != nil && err == nil:
		t.Fatalf("set-up succeeded, want an error matching %v", sc.wantErr)
	case sc.wantErr != nil && !errors.Is(err, sc.wantErr):
		t.Fatalf("err = %v, want one matching %v", err, sc.wantErr)
	case sc.wantErr != nil:
		t.Logf("refused as expected: %v", err)
	case err != nil:
		t.Fatal(err)
	case sc.check != nil:
		sc.check(t, &j)
	}
	ready := os.NewFile(3, "ready")
	ready.Write([]byte{1})
	ready.Close()
	io.Copy(io.Discard, os.Stdin)
}

// runPhases runs the init's sequence.
func runPhases(j *job) error {
	c := &j.Config
	if err := Prepare(c); err != nil {
		return err
	}
	if err := Pivot(c); err != nil {
		return err
	}
	if err := Finalize(c); err != nil {
		return err
	}
	if j.Console {
		slave, err := openPty()
		if err != nil {
			return err
		}
		return BindConsole(slave)
	}
	return nil
}

// openPty allocates a pty from the container's /dev/ptmx and returns the
// slave's path (the master is leaked on purpose: the helper exits soon).
func openPty() (string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return "", err
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		return "", err
	}
	return "/dev/pts/" + strconv.Itoa(n), nil
}

// baseSpec is a minimal spec for scenarios to extend.
func baseSpec(rootfs string) *specs.Spec {
	return &specs.Spec{
		Root: &specs.Root{Path: rootfs},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		},
		Linux: &specs.Linux{},
	}
}

// startTest is the common start of every integration test.
func startTest(t *testing.T) *testEnv {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	return newEnv(t)
}
