package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/shim"
	"github.com/berth-dev/berth/snapshot"
)

// ctrEnv is an engine configuration with the repository's berth-shim and
// berth-runtime, and a busybox image in a loopback registry.
type ctrEnv struct {
	cfg engine.Config
	ref string
}

func newCtrEnv(t *testing.T) *ctrEnv {
	t.Helper()
	testutil.RequireRoot(t)
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "bin")
	for _, b := range []string{"berth-shim", "berth-runtime"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("no %s (run make build): %v", b, err)
		}
	}
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	dir := t.TempDir()
	return &ctrEnv{
		ref: reg.Host + "/test/busybox:v1",
		cfg: engine.Config{
			Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
			Registry:   engine.RegistryConfig{CertsDir: filepath.Join(dir, "certs.d")},
			ShimBinary: filepath.Join(bin, "berth-shim"),
			Runtimes:   map[string]string{engine.DefaultRuntime: filepath.Join(bin, "berth-runtime")},
			GCDelay:    -1,
		},
	}
}

// open opens an engine on the environment's directories, closed when
// the test ends.
func (c *ctrEnv) open(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(t.Context(), c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// leavesNothing fails unless the engine's root and state hold no
// container, snapshot or shim directory any more.
func (c *ctrEnv) leavesNothing(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	if list, err := e.Containers(ctx, "default", true); err != nil || len(list) != 0 {
		t.Errorf("containers left: %+v %v", list, err)
	}
	for _, glob := range []string{"state/containers/default/*", "state/s/*", "root/containers/default/*"} {
		if m, _ := filepath.Glob(filepath.Join(filepath.Dir(c.cfg.Root), glob)); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}
	sn, _ := e.Snapshotter("default")
	n := 0
	_ = sn.Walk(ctx, func(i snapshot.Info) error {
		if strings.HasPrefix(i.Name, "container-") {
			n++
		}
		return nil
	})
	if n > 0 {
		t.Errorf("%d container snapshots left", n)
	}
}

// TestContainerRunAttached creates and runs a container attached: its
// output and exit code come back, and removing it leaves nothing.
func TestContainerRunAttached(t *testing.T) {
	env := newCtrEnv(t)
	e := env.open(t)
	ctx := t.Context()
	if _, err := e.Pull(ctx, "default", env.ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "first",
		Cmd: []string{"sh", "-c", "echo hi; echo oops >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code, err := e.AttachContainer(ctx, "default", "first", container.Stdio{Stdout: &out, Stderr: &errb}, engine.AttachOptions{Start: true})
	if err != nil || code != 3 || out.String() != "hi\n" || errb.String() != "oops\n" {
		t.Fatalf("run: code %d, %v, stdout %q, stderr %q", code, err, out.String(), errb.String())
	}
	got, err := e.Container(ctx, "default", c.ID[:8])
	if err != nil || got.Status.State != engine.StateExited || got.Status.ExitCode != 3 {
		t.Fatalf("after the run: %+v %v", got.Status, err)
	}
	var logs bytes.Buffer
	if err := e.Logs(ctx, "default", "first", container.LogOptions{Tail: -1}, &logs, &logs); err != nil || logs.String() != "hi\noops\n" && logs.String() != "oops\nhi\n" {
		t.Fatalf("logs: %q %v", logs.String(), err)
	}
	if err := e.RemoveContainer(ctx, "default", "first", engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	env.leavesNothing(t, e)
}

// TestCreatedContainerSurvivesCollection: a container created, its
// image's last name then removed and garbage collected, still runs: the
// collector keeps a container's active snapshot and the image layers
// under it, so creates need no lease.
func TestCreatedContainerSurvivesCollection(t *testing.T) {
	env := newCtrEnv(t)
	e := env.open(t)
	ctx := t.Context()
	if _, err := e.Pull(ctx, "default", env.ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "kept",
		Cmd: []string{"cat", "/etc/passwd"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, "default", env.ref, engine.DeleteOptions{Sync: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.GC(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := e.AttachContainer(ctx, "default", "kept", container.Stdio{Stdout: &out, Stderr: &out}, engine.AttachOptions{Start: true})
	if err != nil || code != 0 || !strings.HasPrefix(out.String(), "root:") {
		t.Fatalf("run after the collection: code %d, %v, output %q", code, err, out.String())
	}
	if err := e.RemoveContainer(ctx, "default", "kept", engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	env.leavesNothing(t, e)
}

// TestContainerBadInput checks that a name taken twice, a missing bind
// source, an unknown runtime, an empty command and a command that does
// not exist each fail with their kind of error and leave nothing.
func TestContainerBadInput(t *testing.T) {
	env := newCtrEnv(t)
	e := env.open(t)
	ctx := t.Context()
	if _, err := e.Pull(ctx, "default", env.ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "taken"}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		cfg  container.Config
		kind error
	}{
		"name taken":     {container.Config{Name: "taken"}, errdefs.ErrAlreadyExists},
		"bind source":    {container.Config{Mounts: []container.Mount{{Type: "bind", Source: "/nonexistent/berth", Target: "/x"}}}, errdefs.ErrInvalidArgument},
		"runtime":        {container.Config{Runtime: "nope"}, errdefs.ErrInvalidArgument},
		"no command":     {container.Config{Entrypoint: []string{}}, errdefs.ErrInvalidArgument},
		"image":          {container.Config{Image: "localhost/none:1"}, errdefs.ErrNotFound},
		"no such signal": {container.Config{StopSignal: "SIGNOPE"}, errdefs.ErrInvalidArgument},
	} {
		if c.cfg.Image == "" {
			c.cfg.Image = env.ref
		}
		if _, err := e.CreateContainer(ctx, "default", c.cfg); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	// A command that does not exist: the start fails, the --rm container goes.
	_, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "nocmd", AutoRemove: true, Cmd: []string{"/no/such/cmd"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AttachContainer(ctx, "default", "nocmd", container.Stdio{}, engine.AttachOptions{Start: true}); !errors.Is(err, engine.ErrCommandNotFound) {
		t.Fatalf("start a missing command: %v", err)
	}
	if err := e.RemoveContainer(ctx, "default", "taken", engine.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	env.leavesNothing(t, e)
}

// TestContainersSurviveRestart starts containers with one engine, closes
// it, and checks that the next engine on the same root finds them
// running, stops one with every log line kept, and reports one whose
// shim was killed as exited for that reason.
func TestContainersSurviveRestart(t *testing.T) {
	env := newCtrEnv(t)
	a := env.open(t)
	ctx := t.Context()
	if _, err := a.Pull(ctx, "default", env.ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	script := `trap 'echo bye; exit 7' TERM; echo one; while :; do sleep 0.1; done`
	for _, name := range []string{"keeps", "shimless"} {
		if _, err := a.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: name, Cmd: []string{"sh", "-c", script}}); err != nil {
			t.Fatal(err)
		}
		if err := a.StartContainer(ctx, "default", name); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := env.open(t)
	list, err := b.Containers(ctx, "default", false)
	if err != nil || len(list) != 2 {
		t.Fatalf("running after the restart: %+v %v", list, err)
	}
	if err := b.StopContainer(ctx, "default", "keeps", nil); err != nil {
		t.Fatal(err)
	}
	c, err := b.WaitContainer(ctx, "default", "keeps")
	if err != nil || c.Status.ExitCode != 7 {
		t.Fatalf("stopped: %+v %v", c.Status, err)
	}
	var logs bytes.Buffer
	if err := b.Logs(ctx, "default", "keeps", container.LogOptions{Tail: -1}, &logs, &logs); err != nil || logs.String() != "one\nbye\n" {
		t.Fatalf("logs: %q %v", logs.String(), err)
	}

	s, err := b.Container(ctx, "default", "shimless")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(s.StateDir, shim.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var sc shim.Config
	if err := json.Unmarshal(raw, &sc); err != nil || sc.ShimPid <= 0 {
		t.Fatalf("shim.json: %v %+v", err, sc)
	}
	if err := syscall.Kill(sc.ShimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s, err = b.WaitContainer(ctx, "default", "shimless")
	if err != nil || s.Status.State != engine.StateExited || s.Status.Reason != shim.ReasonShimDied {
		t.Fatalf("after its shim was killed: %+v %v", s.Status, err)
	}
	for _, name := range []string{"keeps", "shimless"} {
		if err := b.RemoveContainer(ctx, "default", name, engine.RemoveOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	env.leavesNothing(t, b)
}

// TestRestartPolicy checks on-failure:2 restarts a failing container
// twice, then leaves it exited with its restart count, and that a
// stopped always-container stays stopped.
func TestRestartPolicy(t *testing.T) {
	env := newCtrEnv(t)
	e := env.open(t)
	ctx := t.Context()
	if _, err := e.Pull(ctx, "default", env.ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	evs := e.Events().Subscribe(ctx, events.Filter{Namespace: "default", Topics: []string{string(events.TopicTasks)}})
	_, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "flaky",
		Restart: container.RestartPolicy{Name: "on-failure", MaxRetries: 2}, Cmd: []string{"sh", "-c", "echo run; exit 1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.StartContainer(ctx, "default", "flaky"); err != nil {
		t.Fatal(err)
	}
	for exits := 0; exits < 3; {
		if ev := <-evs; ev.Topic == "/tasks/exit" {
			exits++
		}
	}
	c, err := e.Container(ctx, "default", "flaky")
	if err != nil || c.Status.State != engine.StateExited || c.Status.RestartCount != 2 || c.Status.ExitCode != 1 {
		t.Fatalf("after on-failure:2: %+v %v", c.Status, err)
	}
	var logs bytes.Buffer
	if err := e.Logs(ctx, "default", "flaky", container.LogOptions{Tail: -1}, &logs, &logs); err != nil || logs.String() != "run\nrun\nrun\n" {
		t.Fatalf("logs: %q %v", logs.String(), err)
	}

	if _, err := e.CreateContainer(ctx, "default", container.Config{Image: env.ref, NetworkMode: "none", Name: "always",
		Restart: container.RestartPolicy{Name: "always"}, Cmd: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.StartContainer(ctx, "default", "always"); err != nil {
		t.Fatal(err)
	}
	for starts := 0; starts < 2; {
		if ev := <-evs; ev.Topic == "/tasks/start" && ev.Attributes["id"] != c.ID {
			starts++
		}
	}
	if err := e.StopContainer(ctx, "default", "always", nil); err != nil {
		t.Fatal(err)
	}
	a, err := e.Container(ctx, "default", "always")
	if err != nil || !a.Status.ManuallyStopped || a.Status.RestartCount < 1 {
		t.Fatalf("always after stop: %+v %v", a.Status, err)
	}
	for _, name := range []string{"flaky", "always"} {
		if err := e.RemoveContainer(ctx, "default", name, engine.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	env.leavesNothing(t, e)
}
