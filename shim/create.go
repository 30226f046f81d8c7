package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
)

// ErrNotShared is returned by Create to a shim started without a
// directory of its own (Config.ShimDir): it holds one container only.
var ErrNotShared = errors.New("shim holds one container only (started without a shim dir)")

// add creates req.Task's container in this shim, as its first one was
// at start: a state directory of its own (created here, 0700), its
// stdio, log and exit record; the runtime is the shim's.
//
// A failure that leaves the shim with no container ends it once the
// reply is sent (after), as a last Delete does.
func (s *server) add(req *Request) (st *State, after func(), err error) {
	if req.Task == nil {
		return nil, nil, fmt.Errorf("create: %w: no task", ErrBadConfig)
	}
	c := *req.Task
	if c.Runtime == "" {
		c.Runtime, c.RuntimeArgs = s.cfg.Runtime, s.cfg.RuntimeArgs
	}
	if c.RuntimeRoot == "" {
		c.RuntimeRoot = s.cfg.RuntimeRoot
	}
	if err := c.check(); err != nil {
		return nil, nil, fmt.Errorf("create: %w", err)
	}
	if c.Runtime != s.cfg.Runtime || c.RuntimeRoot != s.cfg.RuntimeRoot || !slices.Equal(c.RuntimeArgs, s.cfg.RuntimeArgs) {
		return nil, nil, fmt.Errorf("create %s: %w: runtime %s %q (root %s) is not the shim's (%s %q, root %s)", c.ID, ErrBadConfig,
			c.Runtime, c.RuntimeArgs, c.RuntimeRoot, s.cfg.Runtime, s.cfg.RuntimeArgs, s.cfg.RuntimeRoot)
	}
	c.ShimDir = s.cfg.ShimDir
	if c.ShimDir == "" {
		return nil, nil, fmt.Errorf("create %s: %w", c.ID, ErrNotShared)
	}
	s.mu.Lock()
	_, dup := s.tasks[c.ID]
	closing := s.closing
	if !closing && !dup {
		s.pending++
	}
	s.mu.Unlock()
	switch {
	case closing:
		return nil, nil, fmt.Errorf("create %s: %w: the shim is exiting", c.ID, ErrState)
	case dup:
		return nil, nil, fmt.Errorf("create %s: %w: the shim holds it already", c.ID, ErrState)
	}
	t, err := s.addPending(c)
	if err != nil {
		return nil, s.closeIfEmpty(), err
	}
	return t.init.state(t.id, t.bundle, os.Getpid()), nil, nil
}

// addPending creates c, counted as pending meanwhile.
func (s *server) addPending(c Config) (*task, error) {
	defer func() {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
	}()
	if err := os.Mkdir(c.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: state dir: %w", c.ID, err)
	}
	return s.create(c, nil)
}

// Create creates container c in the shim c is for (the shim must have
// been started with a ShimDir); c's runtime is the shim's. It returns a
// client for the new task. On failure nothing of c is left.
func (c *Client) Create(ctx context.Context, task Config) (*Client, *State, error) {
	resp, err := c.call(ctx, &Request{Method: MethodCreate, ID: task.ID, Task: &task})
	if err != nil {
		return nil, nil, err
	}
	return NewClient(c.Addr, task.ID), resp.State, nil
}
