package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/berth-dev/berth/internal/holdpipe"
)

// Pending is a shim started ahead of its container's create: its
// process is up and waits for Go before it creates the container, so
// that its start (a process and a Go runtime, over a millisecond)
// overlaps the work that must come before the create (the container's
// snapshot, bundle and record). Exactly one of Go and Abort ends it.
type Pending struct {
	cmd   *exec.Cmd
	ready *os.File // the shim's report: "ok ADDR" or "error MSG"
	hold  *os.File // "go" goes here; closed without it, the shim ends
	c     Config
}

// errAborted ends a held shim whose hold pipe closed without a go.
var errAborted = errors.New("aborted before its create")

// Prestart starts a shim for c from binary, held before the create: its
// state directory made, its process started in its own session as
// Launch does, nothing created. Only single-container shims (no
// ShimDir) are held.
func Prestart(binary string, c Config) (*Pending, error) {
	if c.ShimDir != "" {
		return nil, fmt.Errorf("%w: a pod's shim is not started ahead", ErrBadConfig)
	}
	hr, hw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start shim: %w", err)
	}
	defer hr.Close()
	c.Hold = hr
	if err := c.check(); err != nil {
		hw.Close()
		return nil, err
	}
	if err := os.Mkdir(c.StateDir, 0o700); err != nil {
		hw.Close()
		return nil, fmt.Errorf("shim state dir: %w", err)
	}
	cmd, ready, err := startProcess(c, binary)
	if err != nil {
		hw.Close()
		os.RemoveAll(c.StateDir)
		return nil, err
	}
	return &Pending{cmd: cmd, ready: ready, hold: hw, c: c}, nil
}

// Pid is the held shim's process.
func (p *Pending) Pid() int { return p.cmd.Process.Pid }

// Go lets the shim create its container and returns a client once it
// serves, or the runtime's own error line, leaving nothing, as Launch.
func (p *Pending) Go(ctx context.Context) (*Client, error) {
	werr := holdpipe.Release(p.hold)
	addr, err := awaitReady(p.cmd, p.ready)
	if err != nil {
		os.RemoveAll(p.c.StateDir)
		if werr != nil {
			err = fmt.Errorf("%w (the shim's hold: %v)", err, werr)
		}
		return nil, err
	}
	reapWhenDone(p.cmd)
	client := NewClient(addr, p.c.ID)
	if err := ctx.Err(); err != nil {
		_, _ = client.Delete(context.WithoutCancel(ctx), "", true)
		return nil, err
	}
	return client, nil
}

// Abort ends the held shim, which created nothing, and removes its state
// directory once it has exited.
func (p *Pending) Abort() {
	p.hold.Close()
	_, _ = awaitReady(p.cmd, p.ready)
	os.RemoveAll(p.c.StateDir)
}

// awaitReady reads the shim's report to its end and returns its socket's
// path, or its error (reaping the shim, which has exited).
func awaitReady(cmd *exec.Cmd, ready *os.File) (string, error) {
	b, _ := io.ReadAll(io.LimitReader(ready, 64<<10))
	ready.Close()
	msg := strings.TrimSpace(string(b))
	if addr, ok := strings.CutPrefix(msg, "ok "); ok {
		return addr, nil
	}
	werr := cmd.Wait()
	if m, ok := strings.CutPrefix(msg, "error "); ok {
		return "", errors.New(m)
	}
	return "", fmt.Errorf("shim exited before serving: %v", werr)
}
