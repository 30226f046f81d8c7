package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/shim"
	"github.com/berth-dev/berth/shim/logs"
	"github.com/berth-dev/berth/specgen"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// running returns a running container's record and task.
func (e *Engine) running(ctx context.Context, ns, ref string) (Container, *task, error) {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return c, nil, err
	}
	t := e.task(ns, c.ID)
	if t == nil {
		return c, nil, fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	return c, t, nil
}

// StopContainer sends the container's stop signal, waits up to timeout
// (nil: the container's, else DefaultStopTimeout; negative: for ever)
// and then kills it. A container that does not run is left as it is.
func (e *Engine) StopContainer(ctx context.Context, ns, ref string, timeout *time.Duration) error {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	e.markStopped(ctx, ns, c.ID)
	t := e.task(ns, c.ID)
	if t == nil {
		return nil
	}
	cfg, err := ContainerConfig(c)
	if err != nil {
		return err
	}
	wait := DefaultStopTimeout
	switch {
	case timeout != nil:
		wait = *timeout
	case cfg.StopTimeout != nil:
		wait = *cfg.StopTimeout
	}
	if c.Status.State == StatePaused {
		_ = e.setPaused(ctx, ns, c, t, false)
	}
	sig := e.stopSignal(ns, c)
	if err := t.kill(ctx, sig); err != nil && sig != unix.SIGKILL {
		e.log.Warn("stop signal", "id", c.ID, "err", err)
	}
	var expired <-chan time.Time // nil for a negative wait: no SIGKILL, as Docker's -1
	if wait >= 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
	}
	// A kill that fails may still have killed: the shim can close its
	// connection (EOF) as the container exits, before the engine records
	// the exit. The exit, when it comes, settles it.
	killErr := t.kill(ctx, unix.SIGKILL)
	killed := time.NewTimer(killWait)
	defer killed.Stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-killed.C:
		if killErr != nil {
			return fmt.Errorf("kill container %.12s: %w", c.ID, killErr)
		}
		return fmt.Errorf("%w: container %.12s did not exit within %s of SIGKILL", errdefs.ErrUnavailable, c.ID, killWait)
	}
}

// killWait bounds how long Stop waits for a container after SIGKILL: a
// process in uninterruptible sleep, or a shim that no longer reports,
// must not hang the caller.
const killWait = 30 * time.Second

// stopSignal is the one the bundle's spec names (the container's or its
// image's), SIGTERM by default.
func (e *Engine) stopSignal(ns string, c Container) unix.Signal {
	var s specs.Spec
	if b, err := os.ReadFile(filepath.Join(e.bundleDir(ns, c.ID), "config.json")); err == nil && json.Unmarshal(b, &s) == nil {
		if sig, err := parseSignal(s.Annotations[specgen.AnnotationStopSignal]); err == nil {
			return sig
		}
	}
	return unix.SIGTERM
}

// KillContainer sends sig ("SIGKILL", "KILL", "9"; "" is SIGKILL).
func (e *Engine) KillContainer(ctx context.Context, ns, ref, sig string) error {
	if sig == "" {
		sig = "SIGKILL"
	}
	s, err := parseSignal(sig)
	if err != nil {
		return err
	}
	_, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	return t.kill(ctx, s)
}

// WaitContainer waits until a running container exits and returns its
// record; one that does not run is returned at once.
func (e *Engine) WaitContainer(ctx context.Context, ns, ref string) (Container, error) {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return c, err
	}
	if t := e.task(ns, c.ID); t != nil {
		select {
		case <-t.done:
		case <-ctx.Done():
			return c, ctx.Err()
		}
	}
	got, err := e.meta.Containers().Get(ctx, ns, c.ID)
	if err != nil { // auto-removed: what was last known
		return c, nil
	}
	return got, nil
}

// PauseContainer freezes a running container; UnpauseContainer thaws it.
func (e *Engine) PauseContainer(ctx context.Context, ns, ref string) error {
	c, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	return e.setPaused(ctx, ns, c, t, true)
}

// UnpauseContainer thaws a paused container.
func (e *Engine) UnpauseContainer(ctx context.Context, ns, ref string) error {
	c, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	return e.setPaused(ctx, ns, c, t, false)
}

func (e *Engine) setPaused(ctx context.Context, ns string, c Container, t *task, pause bool) error {
	unlock := e.lockContainer(ns, c.ID)
	defer unlock()
	state, action, call := StatePaused, "paused", t.client.Pause
	if !pause {
		state, action, call = StateRunning, "resumed", t.client.Resume
	}
	if err := call(ctx); err != nil {
		return fmt.Errorf("%s container %.12s: %w", strings.TrimSuffix(action, "d"), c.ID, err)
	}
	if cur, err := e.meta.Containers().Get(ctx, ns, c.ID); err == nil {
		cur.Status.State = state
		_, _ = e.meta.Containers().Update(ctx, ns, cur)
	}
	e.publishTask(ns, action, c.ID, nil)
	return nil
}

// ExecOptions say how an exec'd process is run.
type ExecOptions struct {
	container.ExecConfig
	// Detach starts the process and returns at once.
	Detach bool
	// ID names the process for ResizeContainer; empty picks one.
	ID string
	// Width and Height, when set, size its terminal.
	Width, Height uint16
	// KillOnCancel kills the process when ctx ends before it exits, as
	// the CRI's streaming exec does when its client goes away; without
	// it the process runs on, as Docker's exec does.
	KillOnCancel bool
	// Started, when set, is called with the process's pid once it runs.
	Started func(pid int)
}

// execKillWait bounds the wait for an exec process killed on cancel.
const execKillWait = 10 * time.Second

// Exec runs a process in a running container with stdio and returns its
// exit code (0 at once when detached).
func (e *Engine) Exec(ctx context.Context, ns, ref string, o ExecOptions, stdio container.Stdio) (int, error) {
	c, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return 0, err
	}
	p, err := e.execProcess(ns, c, o.ExecConfig)
	if err != nil {
		return 0, err
	}
	if o.Tty && o.Width > 0 && o.Height > 0 {
		p.ConsoleSize = &specs.Box{Width: uint(o.Width), Height: uint(o.Height)}
	}
	spec, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode process: %w", err)
	}
	if o.ID == "" {
		o.ID = newID()[:16]
	}
	so := shim.ExecOptions{ID: o.ID, Spec: spec, Stdin: stdio.Stdin != nil && !o.Detach, Terminal: o.Tty}
	if o.Detach {
		st, err := t.client.Exec(ctx, so)
		if err != nil {
			return 0, classifyStartError(err)
		}
		o.started(st)
		return 0, nil
	}
	s, st, err := t.client.ExecAttach(ctx, so)
	if err != nil {
		return 0, classifyStartError(err)
	}
	o.started(st)
	e.publishTask(ns, "exec-started", c.ID, map[string]string{"execID": o.ID})
	ex, err := copyStream(ctx, s, stdio)
	if err != nil && o.KillOnCancel && ctx.Err() != nil {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), execKillWait)
		if t.client.Kill(kctx, o.ID, int(unix.SIGKILL), false) == nil {
			_, _ = t.client.Wait(kctx, o.ID)
		}
		cancel()
	}
	_, _ = t.client.Delete(context.WithoutCancel(ctx), o.ID, false)
	if err != nil {
		return 0, err
	}
	return ex.Code, nil
}

// started reports the running process's pid to o.Started.
func (o ExecOptions) started(st *shim.State) {
	if o.Started != nil && st != nil {
		o.Started(st.Pid)
	}
}

// execProcess is the container's process with ec's command, terminal,
// environment, working directory and user.
func (e *Engine) execProcess(ns string, c Container, ec container.ExecConfig) (*specs.Process, error) {
	if len(ec.Cmd) == 0 {
		return nil, fmt.Errorf("%w: exec needs a command", ErrInvalidConfig)
	}
	dir := e.bundleDir(ns, c.ID)
	s, err := e.readSpec(ns, c.ID)
	if err != nil {
		return nil, err
	}
	p := *s.Process
	p.Args, p.Terminal, p.ConsoleSize = slices.Clone(ec.Cmd), ec.Tty, nil
	if ec.WorkingDir != "" {
		p.Cwd = ec.WorkingDir
	}
	user := ec.User
	gen, err := specgen.New(ocispec.ImageConfig{Env: p.Env, User: user}, specgen.WithArgs(ec.Cmd...), specgen.WithEnv(ec.Env...), specgen.WithRootfs(filepath.Join(dir, "rootfs")))
	if err != nil {
		return nil, err
	}
	p.Env = gen.Process.Env
	if user != "" {
		p.User = gen.Process.User
	}
	if ec.Privileged {
		held, err := heldCaps()
		if err != nil {
			return nil, err
		}
		p.Capabilities = &specs.LinuxCapabilities{Bounding: held, Effective: held, Permitted: held}
	}
	return &p, nil
}

// ResizeContainer sets the terminal size of a container's process (or
// of exec execID's).
func (e *Engine) ResizeContainer(ctx context.Context, ns, ref, execID string, width, height uint16) error {
	_, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	return t.client.ResizePty(ctx, execID, width, height)
}

// CloseStdin closes the stdin of a container's process (or exec
// execID's).
func (e *Engine) CloseStdin(ctx context.Context, ns, ref, execID string) error {
	_, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	return t.client.CloseStdin(ctx, execID)
}

// ReopenContainerLog makes a running container's shim open its log file
// again at its path, after the kubelet renamed it for rotation.
func (e *Engine) ReopenContainerLog(ctx context.Context, ns, ref string) error {
	c, t, err := e.running(ctx, ns, ref)
	if err != nil {
		return err
	}
	if err := t.client.ReopenLog(ctx); err != nil {
		return fmt.Errorf("reopen the log of %.12s: %w", c.ID, err)
	}
	return nil
}

// Logs writes a container's log lines to stdout and stderr by stream;
// with Follow it goes on until the container exits or ctx ends.
func (e *Engine) Logs(ctx context.Context, ns, ref string, o container.LogOptions, stdout, stderr io.Writer) error {
	return e.LogEntries(ctx, ns, ref, o, func(t time.Time, stream string, line []byte) error {
		w := stdout
		if stream == logs.Stderr {
			w = stderr
		}
		line = append(line, '\n')
		if o.Timestamps {
			line = append([]byte(t.Format(time.RFC3339Nano)+" "), line...)
		}
		_, err := w.Write(line)
		return err
	})
}

// LogEntries calls fn for each of a container's log lines (stream is
// "stdout" or "stderr"; line has no newline); with Follow it goes on
// until the container exits or ctx ends.
func (e *Engine) LogEntries(ctx context.Context, ns, ref string, o container.LogOptions, fn func(t time.Time, stream string, line []byte) error) error {
	c, err := e.Container(ctx, ns, ref)
	if err != nil {
		return err
	}
	ro := logs.ReadOptions{Since: o.Since, Until: o.Until, Tail: o.Tail, Follow: o.Follow}
	if o.Tail < 0 {
		ro.Tail = 0
	} else if o.Tail == 0 {
		ro.Tail = -1
	}
	if t := e.task(ns, c.ID); t != nil {
		ro.Stop = t.done
	} else {
		ro.Follow = false
	}
	err = logs.Read(ctx, e.containerLog(ns, c.ID, configOf(c)), ro, func(en logs.Entry) error { return fn(en.Time, en.Stream, en.Line) })
	if os.IsNotExist(err) {
		return nil // nothing logged yet
	}
	return err
}
