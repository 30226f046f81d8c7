package runtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/imagetest"
	"github.com/berth-dev/berth/internal/testutil"
)

// bin is the berth-runtime under test.
var bin string

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	// Bundles must be readable by the ids containers map to (user
	// namespaces, rootless runs), whatever umask the caller has.
	syscall.Umask(0o022)
	bin = os.Getenv("BERTH_RUNTIME")
	if bin == "" {
		bin = filepath.Join(repo, "bin", "berth-runtime")
	}
	code := m.Run()
	if userBinDir.dir != "" {
		os.RemoveAll(userBinDir.dir)
	}
	os.Exit(code)
}

// env is one test's runtime root and helpers.
type env struct {
	t    *testing.T
	root string
	ids  []string
	bin  string // the runtime binary: berth-runtime, or runc side by side
	// extra are descriptors every command inherits from 3 on.
	extra []*os.File
	// environ is added to every command's environment.
	environ []string
}

// newEnv checks for leaks, skips without root or binary, and deletes every
// container the test made when it ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no berth-runtime at %s (run make build): %v", bin, err)
	}
	testutil.CheckLeaks(t)
	e := &env{t: t, root: t.TempDir(), bin: bin}
	t.Cleanup(func() {
		for _, id := range e.ids {
			e.run("delete", "--force", id)
		}
	})
	return e
}

// sub returns an env for subtest t sharing e's root: its helpers fail t,
// never the parent (FailNow must run on the test's own goroutine), and
// t's cleanup deletes the containers it made.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t, c.ids = t, nil
	s := &c
	t.Cleanup(func() {
		for _, id := range s.ids {
			s.run("delete", "--force", id)
		}
	})
	return s
}

// id returns a fresh container ID the cleanup will delete.
func (e *env) id() string {
	b := make([]byte, 4)
	rand.Read(b)
	id := "berth-test-" + strings.ToLower(strings.ReplaceAll(e.t.Name(), "/", "-")) + "-" + hex.EncodeToString(b)
	if len(id) > 60 {
		id = "berth-test-" + hex.EncodeToString(b)
	}
	e.ids = append(e.ids, id)
	return id
}

// bundle makes a busybox bundle with the given args; mod may change the
// spec before it is written.
func (e *env) bundle(args []string, mod func(*specs.Spec)) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), "bundle")
	s := imagetest.Spec(imagetest.SpecOptions{Args: args})
	s.Process.Rlimits = nil
	if mod != nil {
		mod(s)
	}
	if err := imagetest.NewBundle(dir, s); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// result is a finished runtime command.
type result struct {
	out, err string
	code     int
}

// run runs berth-runtime --root ROOT args... with stdin from /dev/null.
func (e *env) run(args ...string) result {
	return e.runIn(nil, args...)
}

func (e *env) runIn(stdin []byte, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root}, args...)...)
	// Files, not pipes: a detached container keeps its stdio open, and
	// os/exec would wait for a pipe to reach EOF.
	outF, err := os.CreateTemp(e.t.TempDir(), "stdout")
	if err != nil {
		e.t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.CreateTemp(e.t.TempDir(), "stderr")
	if err != nil {
		e.t.Fatal(err)
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	cmd.ExtraFiles = e.extra
	if e.environ != nil {
		cmd.Env = append(os.Environ(), e.environ...)
	}
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err = cmd.Run()
	outB, _ := os.ReadFile(outF.Name())
	errB, _ := os.ReadFile(errF.Name())
	out, errb := string(outB), string(errB)
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return result{out, errb, code}
}

// must runs a command that must succeed and returns its stdout.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("berth-runtime %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.err, r.out)
	}
	return r.out
}

// fails runs a command that must fail with a one-line error containing want.
func (e *env) fails(want string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code == 0 {
		e.t.Fatalf("berth-runtime %s succeeded, want failure %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(r.err, want) {
		e.t.Fatalf("berth-runtime %s: error %q does not mention %q", strings.Join(args, " "), r.err, want)
	}
	return r
}

func (e *env) state(id string) specs.State {
	e.t.Helper()
	var st specs.State
	if err := json.Unmarshal([]byte(e.must("state", id)), &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitStatus waits until the container reaches status.
func (e *env) waitStatus(id string, status specs.ContainerState) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if e.state(id).Status == status {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("container %s never became %s", id, status)
}

// noState checks that nothing is left under the root for id.
func (e *env) noState(id string) {
	e.t.Helper()
	if _, err := os.Stat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
		e.t.Fatalf("state of %s left behind (%v)", id, err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func itoa(n int) string { return strconv.Itoa(n) }

func sscan(s string, v ...any) (int, error) { return fmt.Sscan(s, v...) }

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 10s")
}

// openUp makes the test's temporary directories traversable by other
// users (a user namespace's root is one), and returns the undo.
func openUp(t *testing.T) func() {
	dir := filepath.Dir(t.TempDir())
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	return func() { os.Chmod(dir, st.Mode().Perm()) }
}

// cmd returns an unstarted berth-runtime command for the env's root.
func (e *env) cmd(args ...string) *exec.Cmd {
	return exec.Command(e.bin, append([]string{"--root", e.root}, args...)...)
}

// name is the runtime binary's name as it prints it in help and errors.
func (e *env) name() string { return filepath.Base(e.bin) }

// sideBySide runs f as subtest "berth-runtime" and, where runc is
// installed, as subtest "runc", each with its own env and root: the same
// assertions must hold for both.
func sideBySide(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("berth-runtime", func(t *testing.T) { f(t, newEnv(t)) })
	t.Run("runc", func(t *testing.T) {
		runc, err := exec.LookPath("runc")
		if err != nil {
			t.Skip("runc is not installed")
		}
		e := newEnv(t)
		e.bin = runc
		f(t, e)
	})
}

// unixRlimit is a resource limit as getrlimit returns it.
type unixRlimit = syscall.Rlimit

func getNofile(l *unixRlimit) { _ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, l) }
