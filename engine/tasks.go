package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/shim"
	"golang.org/x/sys/unix"
)

// Errors a start or exec returns when the container's command cannot be
// run; front ends map them to exit codes 127 and 126, as Docker does.
var (
	ErrCommandNotFound      = errdefs.New(errdefs.ErrFailedPrecondition, "command not found")
	ErrCommandNotExecutable = errdefs.New(errdefs.ErrFailedPrecondition, "command cannot be run")
)

// DefaultStopTimeout is how long Stop waits before SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// DefaultRuntime is the runtime a container gets when it names none.
const DefaultRuntime = "berth-runtime"

type ctrLock struct{ sync.Mutex }

// task is a container whose shim serves: a process that runs (or is
// about to).
type task struct {
	client *shim.Client
	// done is closed once its exit is recorded (and an auto-remove done).
	done chan struct{}
	// net is the network launch set up, for the record.
	net *container.NetworkSettings
}

func (t *task) kill(ctx context.Context, sig unix.Signal) error {
	return t.client.Kill(ctx, "", int(sig), false)
}

func (e *Engine) task(ns, id string) *task {
	e.ctrMu.Lock()
	defer e.ctrMu.Unlock()
	return e.tasks[ns+"/"+id]
}

// ociRuntime is how a named runtime is run: its binary, its global
// flags and its --root.
type ociRuntime struct {
	path, root string
	args       []string
	// ours: the berth-runtime next to this binary or in PATH, whose
	// exec fifo the shim may open itself to start a container.
	ours bool
}

// runtimeFor finds a runtime by name in the configuration; the default
// one next to the running binary or in PATH.
func (e *Engine) runtimeFor(name string) (ociRuntime, error) {
	if name == "" {
		name = DefaultRuntime
	}
	rc := ociRuntime{path: e.cfg.Runtimes[name], root: filepath.Join(e.cfg.State, "runtime", name), args: e.cfg.RuntimeArgs[name]}
	if rc.path != "" {
		return rc, nil
	}
	if name != DefaultRuntime {
		return rc, fmt.Errorf("%w: unknown runtime %q (configure it in runtimes)", errdefs.ErrInvalidArgument, name)
	}
	var err error
	rc.path, err = findBinary(DefaultRuntime)
	rc.ours = err == nil
	return rc, err
}

func (e *Engine) shimBinary() (string, error) {
	if e.cfg.ShimBinary != "" {
		return e.cfg.ShimBinary, nil
	}
	return findBinary("berth-shim")
}

func (e *Engine) reaperBinary() (string, error) {
	if e.cfg.ReaperBinary != "" {
		if _, err := os.Stat(e.cfg.ReaperBinary); err != nil {
			return "", fmt.Errorf("%w: reaper: %w", errdefs.ErrFailedPrecondition, err)
		}
		return e.cfg.ReaperBinary, nil
	}
	return findBinary("berth-reaper")
}

// findBinary looks next to the running binary, then in PATH.
func findBinary(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s is neither next to this binary nor in PATH", errdefs.ErrFailedPrecondition, name)
	}
	return p, nil
}

// launch starts c's shim, which creates the container (and starts it if
// startNow), and records it as a task watched for its exit. A shim
// started ahead (pending, held and told not to start, so only with
// startNow false) is let go instead; launch ends it if it is not used.
func (e *Engine) launch(ctx context.Context, ns string, c Container, startNow bool, pending *shim.Pending) (*task, error) {
	defer func() {
		if pending != nil {
			pending.Abort()
		}
	}()
	cfg, err := ContainerConfig(c)
	if err != nil {
		return nil, err
	}
	rt, err := e.runtimeFor(c.Runtime)
	if err != nil {
		return nil, err
	}
	bin, err := e.shimBinary()
	if err != nil {
		return nil, err
	}
	if _, err := e.writeBundle(ctx, ns, c, cfg); err != nil {
		return nil, err
	}
	if err := e.makePodCgroup(c, cfg); err != nil {
		return nil, err
	}
	if pending == nil {
		e.clearShim(ctx, c) // a leftover of a crash
	}
	if err := os.MkdirAll(filepath.Dir(c.StateDir), 0o700); err != nil {
		return nil, fmt.Errorf("create shim directory: %w", err)
	}
	if cfg.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
			return nil, fmt.Errorf("create log directory: %w", err)
		}
	}
	pn, err := e.startNetwork(ctx, ns, c, cfg)
	if err != nil {
		return nil, err
	}
	if err := e.prepareUserNS(ns, c.ID, cfg); err != nil {
		_, _ = pn.wait()
		e.teardownNetwork(ctx, ns, c)
		_ = e.unmountBundle(ns, c.ID)
		return nil, err
	}
	var client *shim.Client
	if pending != nil {
		p := pending
		pending = nil
		client, err = p.Go(ctx)
	} else {
		sc := e.shimConfig(ns, c, cfg, rt, startNow && !pn.background)
		if rt.ours {
			if sc.InitExe = e.initExe.get(rt.path); sc.InitExe != nil {
				defer sc.InitExe.Close() // a new shim inherits its own
			}
		}
		client, err = e.launchShim(ctx, c, cfg, bin, sc)
	}
	netSettings, netErr := pn.wait()
	switch {
	case netErr != nil: // first: the create may have failed for want of it
		if err == nil {
			_, _ = client.Delete(context.WithoutCancel(ctx), "", true)
		}
		err = netErr
	case err != nil:
		err = classifyStartError(err)
	case startNow && pn.background:
		if err = client.Start(ctx); err != nil {
			err = classifyStartError(err)
			_, _ = client.Delete(context.WithoutCancel(ctx), "", true)
		}
	}
	if err != nil {
		e.teardownNetwork(ctx, ns, c)
		_ = e.unmountBundle(ns, c.ID)
		return nil, err
	}
	t := &task{client: client, done: make(chan struct{}), net: netSettings}
	e.ctrMu.Lock()
	e.tasks[ns+"/"+c.ID] = t
	e.ctrMu.Unlock()
	return t, nil
}

// shimConfig is the config of the shim that creates c through rt.
func (e *Engine) shimConfig(ns string, c Container, cfg container.Config, rt ociRuntime, startNow bool) shim.Config {
	return shim.Config{
		ID: c.ID, Bundle: e.bundleDir(ns, c.ID), Runtime: rt.path, RuntimeArgs: rt.args,
		RuntimeRoot: rt.root, StateDir: c.StateDir,
		Log: e.containerLog(ns, c.ID, cfg), LogMaxSize: cfg.Log.MaxSize, LogMaxFiles: cfg.Log.MaxFiles,
		Terminal: cfg.Tty, Stdin: cfg.OpenStdin,
		// With the network still being attached, the shim only creates;
		// the start waits for the attachment.
		StartNow: startNow,
		// The engine's specs have no hooks, so a start is only the
		// release of the init.
		FifoStart: rt.ours,
		// And berth-runtime's delete and kill run in the shim's process.
		InProcess: rt.ours && shim.InProcessArgs(rt.args),
		IdleAfter: e.cfg.ShimIdleAfter,
	}
}

// classifyStartError marks a runtime's complaint about the command.
func classifyStartError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		return fmt.Errorf("%w: %s", ErrCommandNotFound, msg)
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "exec format error"):
		return fmt.Errorf("%w: %s", ErrCommandNotExecutable, msg)
	}
	return err
}

// clearShim removes a shim state directory a crashed engine left.
func (e *Engine) clearShim(ctx context.Context, c Container) {
	if _, err := os.Stat(c.StateDir); err != nil {
		return
	}
	r, err := shim.Load(ctx, c.StateDir)
	if err != nil {
		_ = os.RemoveAll(c.StateDir)
		return
	}
	if r.Client != nil {
		_, _ = r.Client.Delete(ctx, "", true)
		return
	}
	if err := shim.Cleanup(ctx, r); err != nil {
		e.log.Warn("clean up a dead shim", "id", c.ID, "err", err)
	}
}

// started records that t runs and starts watching it.
func (e *Engine) started(ctx context.Context, ns string, c Container, t *task) error {
	return e.startedAs(ctx, ns, c, t, nil)
}

// startedAs is started with the init's state, when the caller has it.
func (e *Engine) startedAs(ctx context.Context, ns string, c Container, t *task, st *shim.State) error {
	if st == nil {
		var err error
		if st, err = t.client.State(ctx, ""); err != nil {
			return fmt.Errorf("container %.12s: %w", c.ID, err)
		}
	}
	c.Status = metadata.ContainerStatus{State: StateRunning, Pid: st.Pid, StartedAt: timeNow(), RestartCount: c.Status.RestartCount, Network: t.net}
	if _, err := e.meta.Containers().Update(ctx, ns, c); err != nil {
		return err
	}
	e.publishTask(ns, "start", c.ID, map[string]string{"pid": strconv.Itoa(st.Pid)})
	e.wg.Add(1)
	go e.watch(ns, c.ID, t)
	return nil
}

// failedStart records a start that did not happen (an auto-removed
// container goes).
func (e *Engine) failedStart(ctx context.Context, ns string, c Container, t *task, cause error) error {
	ctx = context.WithoutCancel(ctx)
	if t != nil {
		_, _ = t.client.Delete(ctx, "", true)
		e.ctrMu.Lock()
		delete(e.tasks, ns+"/"+c.ID)
		e.ctrMu.Unlock()
		close(t.done)
	}
	e.teardownNetwork(ctx, ns, c)
	c.Status.Network = nil
	cfg, _ := ContainerConfig(c)
	if cfg.AutoRemove {
		e.removeParts(ctx, ns, c, true) // as Docker's --rm, anonymous volumes go too
		e.publishContainer(ns, "delete", c, nil)
		return cause
	}
	_ = e.unmountBundle(ns, c.ID)
	code := 128
	switch {
	case errors.Is(cause, ErrCommandNotFound):
		code = 127
	case errors.Is(cause, ErrCommandNotExecutable):
		code = 126
	}
	c.Status.State, c.Status.ExitCode, c.Status.Reason, c.Status.FinishedAt = StateExited, code, cause.Error(), timeNow()
	_, _ = e.meta.Containers().Update(ctx, ns, c)
	return cause
}

// StartContainer starts a created or exited container; one that runs is
// left as it is.
func (e *Engine) StartContainer(ctx context.Context, ns, ref string) error {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	unlock := e.lockContainer(ns, c.ID)
	defer unlock()
	if e.task(ns, c.ID) != nil {
		return nil
	}
	c.Status.RestartCount = 0
	t, err := e.launch(ctx, ns, c, true, nil)
	if err != nil {
		return e.failedStart(ctx, ns, c, nil, err)
	}
	if err := e.started(ctx, ns, c, t); err != nil {
		return e.failedStart(ctx, ns, c, t, err)
	}
	return nil
}

// AttachOptions say how AttachContainer attaches.
type AttachOptions struct {
	// Start starts the container first, attached before it can print
	// anything, as `berth run` and `start -a` do.
	Start bool
	// Width and Height, when set, size its terminal before it starts.
	Width, Height uint16
	// Started, when set with Start, is called once the container has
	// started, attached (the Docker API's start answers then).
	Started func()
	// Prestart, when set with Start, is the container's shim started
	// ahead by CreateContainerToStart. AttachContainer ends it if it
	// does not start the container with it.
	Prestart *Prestart
}

// AttachContainer connects stdio to a container's process until it
// exits and returns its exit code. Ending ctx detaches.
func (e *Engine) AttachContainer(ctx context.Context, ns, ref string, stdio container.Stdio, o AttachOptions) (int, error) {
	defer o.Prestart.Abort()
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return 0, err
	}
	var t *task
	var s *shim.Stream
	if o.Start {
		if t, s, err = e.startAttached(ctx, ns, c, o); err == nil && o.Started != nil {
			o.Started()
		}
	} else if t = e.task(ns, c.ID); t == nil {
		err = fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	} else {
		s, _, err = t.client.Attach(ctx, "")
	}
	if err != nil {
		return 0, err
	}
	ex, err := copyStream(ctx, s, stdio)
	if err != nil {
		return 0, err
	}
	select { // the exit is recorded (and an auto-remove done)
	case <-t.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return ex.Code, nil
}

func (e *Engine) startAttached(ctx context.Context, ns string, c Container, o AttachOptions) (*task, *shim.Stream, error) {
	unlock := e.lockContainer(ns, c.ID)
	defer unlock()
	if e.task(ns, c.ID) != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrContainerRunning, c.Name)
	}
	t, err := e.launch(ctx, ns, c, false, o.Prestart.take(c.ID))
	if err != nil {
		return nil, nil, e.failedStart(ctx, ns, c, nil, err)
	}
	if o.Width > 0 && o.Height > 0 {
		_ = t.client.ResizePty(ctx, "", o.Width, o.Height) // no terminal: nothing to size
	}
	// Attached before it starts, in one round trip with the start.
	s, st, err := t.client.AttachStart(ctx)
	if err != nil {
		err = classifyStartError(err)
	} else if err = e.startedAs(ctx, ns, c, t, st); err != nil {
		s.Close()
	}
	if err != nil {
		return nil, nil, e.failedStart(ctx, ns, c, t, err)
	}
	return t, s, nil
}

// copyStream feeds stdin to s and its output to stdout and stderr until
// the process exits.
func copyStream(ctx context.Context, s *shim.Stream, stdio container.Stdio) (*shim.Exit, error) {
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	if stdio.Stdin != nil {
		go func() {
			// Only the end of the client's input closes the process's
			// stdin. A client that detached or went away leaves it open
			// and ends the relay, once what it sent has been written.
			if _, err := io.Copy(s, stdio.Stdin); err == nil {
				_ = s.CloseStdin()
			} else {
				s.Close()
			}
		}()
	}
	out, errw := stdio.Stdout, stdio.Stderr
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = io.Discard
	}
	ex, err := s.Copy(out, errw)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return ex, err
}

// watch waits for t's exit and records it; it returns early when the
// engine closes (the container runs on, a later engine reconnects).
func (e *Engine) watch(ns, id string, t *task) {
	defer e.wg.Done()
	ex, err := t.client.Wait(e.ctx, "")
	if e.ctx.Err() != nil {
		return
	}
	if err != nil {
		ex = &shim.Exit{Code: 255, Time: timeNow(), Reason: shim.ReasonShimDied}
	}
	e.finish(ns, id, t, ex)
}

// finish records a task's exit: the shim is told to delete the container
// and go (or, dead, cleaned up after), the root unmounted, the record
// updated, an auto-remove container removed.
func (e *Engine) finish(ns, id string, t *task, ex *shim.Exit) {
	done := sync.OnceFunc(func() { close(t.done) })
	defer done()
	unlock := e.lockContainer(ns, id)
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The task stays listed until its exit is recorded, so that no caller
	// sees a record that says running without a task.
	defer func() {
		e.ctrMu.Lock()
		delete(e.tasks, ns+"/"+id)
		e.ctrMu.Unlock()
	}()
	c, err := e.meta.Containers().Get(ctx, ns, id)
	if err != nil {
		e.log.Warn("record an exit", "id", id, "err", err)
		return
	}
	cfg, cfgErr := ContainerConfig(c)
	autoRemove := cfgErr == nil && cfg.AutoRemove
	// Read before the runtime's delete removes the cgroup; an --rm
	// container's exit is not recorded.
	var oom bool
	if !autoRemove {
		oom = oomKilled(recordedCgroup(c))
	}
	// The shim deletes the container in the runtime (a process of its
	// own) while the exit is recorded here.
	deleted := e.deleteTask(ctx, c, t)
	e.teardownNetwork(ctx, ns, c)
	exitAttrs := map[string]string{"exitCode": strconv.Itoa(ex.Code), "reason": ex.Reason}
	if autoRemove {
		e.autoRemove(ctx, ns, c, exitAttrs, deleted, done)
		return
	}
	_ = e.unmountBundle(ns, id)
	c.Status.State, c.Status.Pid, c.Status.ExitCode, c.Status.Reason = StateExited, 0, ex.Code, ex.Reason
	c.Status.OOMKilled = oom
	c.Status.Network = nil
	c.Status.FinishedAt = ex.Time
	if _, err := e.meta.Containers().Update(ctx, ns, c); err != nil {
		e.log.Warn("record an exit", "id", id, "err", err)
	}
	deleted()
	e.publishTask(ns, "exit", id, exitAttrs)
	if cfgErr == nil && restarts(cfg.Restart, c.Status) {
		e.scheduleRestart(ns, c)
	}
}

// autoRemove removes an exited --rm container, its network down, while
// its shim deletes it in the runtime (deleted waits for that). As
// Docker's --rm, anonymous volumes go too. No exit is committed: the
// record goes (should the engine die first, recovery finds a running
// record without shim state and removes it) with the snapshot's record
// in one commit, beside the unmount; the backend snapshot is queued for
// removal once the root is unmounted. Once both are gone the
// container's waiters are released
// (done): it is gone from ps -a, its name free, its snapshot and volumes
// gone. The runtime's delete and the bundle and log directories finish
// after, under the container's lock; the directories go only once the
// runtime is done, as poststop hooks get the bundle's path. Should the
// engine die first, recovery removes what is left (orphans.go).
func (e *Engine) autoRemove(ctx context.Context, ns string, c Container, exitAttrs map[string]string, deleted, done func()) {
	recordGone := make(chan struct{})
	var afterUnmount func()
	go func() {
		defer close(recordGone)
		afterUnmount = e.removeRecords(ctx, ns, c)
	}()
	_ = e.unmountBundle(ns, c.ID)
	<-recordGone
	afterUnmount()
	e.publishTask(ns, "exit", c.ID, exitAttrs)
	e.publishContainer(ns, "delete", c, nil)
	done()
	deleted()
	e.removeDirs(ns, c)
}

// removeRecords removes c's record and its snapshot's, in one commit,
// and releases its volumes (its anonymous ones removed). It returns
// what removes the rest of its snapshot, the backend's (and image
// views), for once c's root is unmounted. Should the one commit fail,
// the two go as two, the snapshot's after the unmount.
func (e *Engine) removeRecords(ctx context.Context, ns string, c Container) (afterUnmount func()) {
	if sn, err := e.Snapshotter(ns); err == nil && c.SnapshotKey != "" {
		if removeBackend, err := e.meta.DeleteContainerAndSnapshot(ctx, ns, c.ID, e.cfg.Snapshotter, c.SnapshotKey); err == nil {
			e.releaseHeld(ctx, c, true)
			return func() {
				removeBackend()
				e.removeImageViews(ctx, sn, c)
			}
		}
	}
	e.removeRecord(ctx, ns, c, true)
	return func() { e.removeSnapshot(ctx, ns, c) }
}

// deleteTask has t's shim delete the container and exit, in the
// background; the function it returns waits for that and, should the
// shim fail, cleans up after it.
func (e *Engine) deleteTask(ctx context.Context, c Container, t *task) (wait func()) {
	done := make(chan error, 1)
	go func() {
		_, err := t.client.Delete(ctx, "", true)
		done <- err
	}()
	return func() {
		if err := <-done; err != nil {
			e.clearShim(ctx, c)
		}
		if c.Runtime != "" && c.Runtime != DefaultRuntime {
			// Not every runtime removes the cgroup it made: Debian's
			// runsc leaves a sandbox's.
			e.removeCgroup(c)
		}
	}
}

func (e *Engine) publishTask(ns, action, id string, extra map[string]string) {
	attrs := map[string]string{"id": id}
	for k, v := range extra {
		attrs[k] = v
	}
	e.events.Publish(ns, events.TopicTasks, action, attrs)
}
