package containers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var bin string // the repository's bin/

// cliTimeout bounds one berth command in these tests.
const cliTimeout = 2 * time.Minute

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	bin = filepath.Join(filepath.Dir(file), "..", "..", "bin")
	syscall.Umask(0o022)
	os.Exit(m.Run())
}

// env is a berthd process on a temporary root and a registry holding
// busybox (REF) and busybox without a command (NOCMD).
type env struct {
	t        *testing.T
	dir      string
	sock     string
	berthd   *exec.Cmd
	ref      string
	nocmd    string
	reg      *registrytest.Registry
	bridge   string   // the default network's bridge
	networks []string // user networks the test made
	args     []string // more berthd flags
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"berthd", "berth", "berth-shim", "berth-runtime", "berth-init"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("no %s (run make build): %v", b, err)
		}
	}
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	img, err := registrytest.BusyboxImage(registrytest.Gzip, false)
	if err != nil {
		t.Fatal(err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Config.Cmd = nil
	data, _ := json.Marshal(cfg)
	img.Config = registrytest.Blob{MediaType: img.Config.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
	if img, err = registrytest.RebuildManifest(img); err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/nocmd", "v1", img)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, sock: filepath.Join(dir, "berthd.sock"), ref: reg.Host + "/test/busybox:v1", nocmd: reg.Host + "/test/nocmd:v1", reg: reg}
	e.start()
	t.Cleanup(e.cleanup)
	return e
}

// start runs berthd and waits until it answers.
func (e *env) start() {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "berthd"), "--root", filepath.Join(e.dir, "root"), "--state", filepath.Join(e.dir, "state"), "--address", e.sock, "--config", e.config())
	cmd.Args = append(cmd.Args, e.args...)
	logf, err := os.OpenFile(filepath.Join(e.dir, "berthd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.berthd = cmd
	for range 1000 {
		if _, _, code := e.berth("version"); code == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "berthd.log"))
	e.t.Fatalf("berthd does not answer:\n%s", log)
}

// cleanup removes every container left (force), then stops berthd.
func (e *env) cleanup() {
	if e.berthd == nil {
		return
	}
	if out, _, _ := e.berth("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		e.berth(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	e.removeDefaultNetwork()
	e.berthd = nil
}

// berth runs the CLI and returns its stdout, stderr and exit code.
// A command that runs longer than cliTimeout is a hang: the test fails
// naming it instead of stalling the suite.
func (e *env) berth(args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "berth"), append([]string{"--address", e.sock}, args...)...)
	cmd.WaitDelay = time.Second
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(e.dir, "cfg"), "DOCKER_CONFIG="+filepath.Join(e.dir, "docker"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("berth %v hung (killed after %s); stdout %q, stderr %q", args, cliTimeout, out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		e.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// ok runs the CLI and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.berth(args...)
	if code != 0 {
		e.t.Fatalf("berth %v: exit %d: %s", args, code, errs)
	}
	return out
}

// fails checks a command exits with code and one line on stderr
// containing want.
func (e *env) fails(code int, want string, args ...string) {
	e.t.Helper()
	_, errs, got := e.berth(args...)
	e.t.Logf("berth %s: exit %d: %s", strings.Join(args, " "), got, errs)
	if got != code || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
		e.t.Errorf("berth %v: exit %d, stderr %q; want exit %d and one line with %q", args, got, errs, code, want)
	}
}

// nothingLeft checks berthd holds no container or container snapshot
// and, once a --rm container's last steps are done, no bundle, shim
// directory or log directory.
func (e *env) nothingLeft() {
	e.t.Helper()
	if out := e.ok("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		e.t.Errorf("containers left: %s", out)
	}
	if out := e.ok("snapshot", "ls"); strings.Contains(out, "container-") {
		e.t.Errorf("container snapshots left:\n%s", out)
	}
	if m := e.settled("state/containers/*/*", "state/s/*", "root/containers/*/*"); len(m) > 0 {
		e.t.Errorf("left behind: %v", m)
	}
}

// settleTime bounds how long, after `run --rm` returns, its container's
// runtime delete, shim and directories may take to go: run returns once
// the container is gone from ps -a (as Docker's), they go just after.
const settleTime = 10 * time.Second

// settled returns what still matches globs under the test's directory
// once nothing does or settleTime has passed.
func (e *env) settled(globs ...string) []string {
	deadline := time.Now().Add(settleTime)
	for {
		var left []string
		for _, glob := range globs {
			m, _ := filepath.Glob(filepath.Join(e.dir, glob))
			left = append(left, m...)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunRemoveLeavesNothing: `run --rm IMAGE echo hi` pulls the image
// (saying so),
// prints hi and leaves nothing: the container is gone from ps -a and its
// name free when run returns, its shim (the runtime's delete done) and
// directories just after; the exit code propagates.
func TestRunRemoveLeavesNothing(t *testing.T) {
	e := newEnv(t)
	out, errs, code := e.berth("run", "--rm", "--name", "once", e.ref, "echo", "hi")
	if code != 0 || out != "hi\n" || !strings.Contains(errs, "Unable to find image") {
		t.Fatalf("run (pulling first): exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if out := e.ok("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("ps -a lists the --rm container once run returned: %s", out)
	}
	if out := e.ok("run", "--rm", "--name", "once", e.ref, "echo", "again"); out != "again\n" {
		t.Errorf("the name again: %q", out)
	}
	e.nothingLeft()
	if _, _, code := e.berth("run", "--rm", e.ref, "sh", "-c", "exit 3"); code != 3 {
		t.Fatalf("exit code: %d, want 3", code)
	}
	e.nothingLeft()
}

// TestDetachedLifecycle: run -d, then ps, logs, exec, stop and rm.
func TestDetachedLifecycle(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	id := strings.TrimSpace(e.ok("run", "-d", "--name", "web", e.ref, "sh", "-c", "echo started; while :; do sleep 0.1; done"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q", id)
	}
	ps := e.ok("ps")
	if !strings.HasPrefix(ps, "CONTAINER ID   IMAGE") || !strings.Contains(ps, id[:12]) || !strings.Contains(ps, " Up ") || !strings.Contains(ps, "web") {
		t.Fatalf("ps:\n%s", ps)
	}
	if out := e.ok("exec", "web", "echo", "inside"); out != "inside\n" {
		t.Fatalf("exec: %q", out)
	}
	if _, _, code := e.berth("exec", "web", "sh", "-c", "exit 4"); code != 4 {
		t.Fatalf("exec exit code %d, want 4", code)
	}
	e.fails(125, "already in use", "run", "--name", "web", e.ref, "true")
	e.ok("stop", "-t", "1", "web")
	if out := e.ok("logs", "web"); out != "started\n" {
		t.Fatalf("logs: %q", out)
	}
	if ps := e.ok("ps", "-a"); !strings.Contains(ps, "Exited (") {
		t.Fatalf("ps -a after stop:\n%s", ps)
	}
	if out := e.ok("wait", "web"); out != "143\n" && out != "137\n" {
		t.Fatalf("wait: %q", out)
	}
	e.ok("rm", "web")
	e.nothingLeft()
}

// TestShimsShareOneInitCopy: berthd hands every shim of berth-runtime
// the same sealed copy of berth-init, so no container start or exec
// copies it again; containers and execs start from it.
func TestShimsShareOneInitCopy(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	var inodes []uint64
	for _, name := range []string{"one", "two"} {
		id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--name", name, e.ref, "sleep", "1000"))
		if out := e.ok("exec", name, "echo", "inside"); out != "inside\n" {
			t.Fatalf("exec in %s: %q", name, out)
		}
		pid := e.shimPid(id)
		fds, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
		var found []uint64
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); strings.HasPrefix(l, "/memfd:berth-init@") {
				found = append(found, testutil.Inode(t, fd))
			}
		}
		if len(found) != 1 {
			t.Fatalf("shim %d of %s holds %d copies of berth-init, want 1", pid, name, len(found))
		}
		inodes = append(inodes, found[0])
	}
	if inodes[0] != inodes[1] {
		t.Fatalf("the shims hold different copies of berth-init: inodes %v", inodes)
	}
	e.ok("rm", "-f", "one", "two")
	e.nothingLeft()
}

// TestQuickExecsReportExitCodes: execs that end at once, racing the
// shim's reply to the client that started them, each report their own
// exit code (a lock-order bug once hung one in a few dozen).
func TestQuickExecsReportExitCodes(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	e.ok("run", "-d", "--name", "quick", e.ref, "sleep", "1000")
	for i := range 60 {
		if _, _, code := e.berth("exec", "quick", "sh", "-c", "exit "+strconv.Itoa(i%7)); code != i%7 {
			t.Fatalf("exec %d: exit code %d, want %d", i, code, i%7)
		}
	}
	e.ok("rm", "-f", "quick")
	e.nothingLeft()
}

// TestRunBadInput: each bad input is a one-line error with Docker's exit
// code, and nothing is left: neither before nor after run's create has
// started the container's shim ahead.
func TestRunBadInput(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	e.ok("pull", e.nocmd)
	e.fails(125, "no command", "run", "--rm", e.nocmd)
	e.fails(125, "bind source path does not exist", "run", "--rm", "-v", "/nonexistent/berth-test:/x", e.ref, "true")
	e.fails(125, "unknown runtime", "run", "--rm", "--runtime", "nope", e.ref, "true")
	// After the container's shim started ahead of it (run's create):
	e.fails(125, "no such user", "run", "--rm", "-u", "nosuch", e.ref, "true")
	e.fails(127, "not found", "run", "--rm", e.ref, "/no/such/command")
	e.nothingLeft()
}

// TestBerthdKilled: berthd is SIGKILLed while a container runs and
// restarted; ps shows it running, stop works and the logs have every
// line.
func TestBerthdKilled(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	e.ok("run", "-d", "--name", "counter", e.ref, "sh", "-c", "i=0; while :; do echo line$i; i=$((i+1)); sleep 0.05; done")
	for !strings.Contains(e.ok("logs", "counter"), "line3\n") {
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.berthd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = e.berthd.Wait()
	e.start()
	if ps := e.ok("ps"); !strings.Contains(ps, "counter") || !strings.Contains(ps, " Up ") {
		t.Fatalf("ps after the restart:\n%s", ps)
	}
	e.ok("stop", "-t", "1", "counter")
	lines := strings.Split(strings.TrimSuffix(e.ok("logs", "counter"), "\n"), "\n")
	for i, l := range lines {
		if l != "line"+strconv.Itoa(i) {
			t.Fatalf("log line %d is %q; lines: %s", i, l, fmt.Sprint(lines))
		}
	}
	e.ok("rm", "counter")
	e.nothingLeft()
}
