package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/berth-dev/berth/errdefs"
)

// Client calls one task's shim. Each call is one connection, so a Client
// is safe for concurrent use and a blocking Wait holds up nothing else.
type Client struct {
	Addr string // the shim's socket path
	ID   string // the task's container ID
}

// NewClient returns a client for task id served at addr.
func NewClient(addr, id string) *Client { return &Client{Addr: addr, ID: id} }

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("shim %s: %w", c.ID, err)
	}
	return conn, nil
}

// call sends req and reads the reply on conn; ctx's end closes conn.
func (c *Client) call(ctx context.Context, req *Request) (*Response, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := roundTrip(ctx, conn, req)
	return resp, err
}

func roundTrip(ctx context.Context, conn net.Conn, req *Request) (*Response, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := writeMsg(conn, req); err != nil {
		return nil, fmt.Errorf("shim %s: %w", req.Method, err)
	}
	var resp Response
	if err := readMsg(conn, &resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("shim %s: %w", req.Method, err)
	}
	if resp.Error != "" {
		return nil, &RemoteError{Msg: resp.Error}
	}
	return &resp, nil
}

// State returns the init's state, or execID's.
func (c *Client) State(ctx context.Context, execID string) (*State, error) {
	resp, err := c.call(ctx, &Request{Method: MethodState, ID: c.ID, ExecID: execID})
	if err != nil {
		return nil, err
	}
	return resp.State, nil
}

// Start starts the created container.
func (c *Client) Start(ctx context.Context) error {
	_, err := c.call(ctx, &Request{Method: MethodStart, ID: c.ID})
	return err
}

// Kill sends sig to the init (every process of the container with all),
// or to execID's process.
func (c *Client) Kill(ctx context.Context, execID string, sig int, all bool) error {
	_, err := c.call(ctx, &Request{Method: MethodKill, ID: c.ID, ExecID: execID, Signal: sig, All: all})
	return err
}

// ExecOptions describe an exec'd process.
type ExecOptions struct {
	ID       string          // the exec ID, unique in the task
	Spec     json.RawMessage // a runtime-spec Process
	Stdin    bool
	Terminal bool
}

// Exec starts a process in the container; it runs at once.
func (c *Client) Exec(ctx context.Context, o ExecOptions) (*State, error) {
	resp, err := c.call(ctx, &Request{Method: MethodExec, ID: c.ID, ExecID: o.ID, Spec: o.Spec, Stdin: o.Stdin, Terminal: o.Terminal})
	if err != nil {
		return nil, err
	}
	return resp.State, nil
}

// ExecAttach starts a process as Exec does and returns its stdio stream,
// attached before the process can write anything.
func (c *Client) ExecAttach(ctx context.Context, o ExecOptions) (*Stream, *State, error) {
	return c.stream(ctx, &Request{Method: MethodExec, ID: c.ID, ExecID: o.ID, Spec: o.Spec, Stdin: o.Stdin, Terminal: o.Terminal, Attach: true})
}

// Attach returns the stdio stream of the init, or of execID's process.
func (c *Client) Attach(ctx context.Context, execID string) (*Stream, *State, error) {
	return c.stream(ctx, &Request{Method: MethodAttach, ID: c.ID, ExecID: execID})
}

// AttachStart attaches to the created init and starts it, in one round
// trip: the stream misses none of its output. The state returned is the
// started init's.
func (c *Client) AttachStart(ctx context.Context) (*Stream, *State, error) {
	return c.stream(ctx, &Request{Method: MethodAttach, ID: c.ID, Start: true})
}

func (c *Client) stream(ctx context.Context, req *Request) (*Stream, *State, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := roundTrip(ctx, conn, req)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return &Stream{conn: conn}, resp.State, nil
}

// ResizePty sets the terminal's size.
func (c *Client) ResizePty(ctx context.Context, execID string, width, height uint16) error {
	_, err := c.call(ctx, &Request{Method: MethodResizePty, ID: c.ID, ExecID: execID, Width: width, Height: height})
	return err
}

// CloseStdin closes the process's stdin.
func (c *Client) CloseStdin(ctx context.Context, execID string) error {
	_, err := c.call(ctx, &Request{Method: MethodCloseStdin, ID: c.ID, ExecID: execID})
	return err
}

// ReopenLog makes the shim open the container's log file again at its
// path (after it was renamed, for rotation).
func (c *Client) ReopenLog(ctx context.Context) error {
	_, err := c.call(ctx, &Request{Method: MethodReopenLog, ID: c.ID})
	return err
}

// Wait blocks until the process has ended and its output is drained.
func (c *Client) Wait(ctx context.Context, execID string) (*Exit, error) {
	resp, err := c.call(ctx, &Request{Method: MethodWait, ID: c.ID, ExecID: execID})
	if err != nil {
		return nil, err
	}
	return resp.Exit, nil
}

// Pids lists the container's processes (host pids).
func (c *Client) Pids(ctx context.Context) ([]int, error) {
	resp, err := c.call(ctx, &Request{Method: MethodPids, ID: c.ID})
	if err != nil {
		return nil, err
	}
	return resp.Pids, nil
}

// Pause freezes the container.
func (c *Client) Pause(ctx context.Context) error {
	_, err := c.call(ctx, &Request{Method: MethodPause, ID: c.ID})
	return err
}

// Resume thaws the container.
func (c *Client) Resume(ctx context.Context) error {
	_, err := c.call(ctx, &Request{Method: MethodResume, ID: c.ID})
	return err
}

// Delete deletes execID's record, or with an empty execID the container
// (killed first with force) and its state directory; the shim then exits.
func (c *Client) Delete(ctx context.Context, execID string, force bool) (*State, error) {
	resp, err := c.call(ctx, &Request{Method: MethodDelete, ID: c.ID, ExecID: execID, Force: force})
	if err != nil {
		return nil, err
	}
	return resp.State, nil
}

// Shutdown makes the shim exit; with force even while its task exists
// (the container then runs on without a shim).
func (c *Client) Shutdown(ctx context.Context, force bool) error {
	_, err := c.call(ctx, &Request{Method: MethodShutdown, ID: c.ID, Force: force})
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Stream is an attached process's stdio.
type Stream struct {
	conn net.Conn
	mu   sync.Mutex
}

// Write sends p to the process's stdin.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxFrame)]
		if err := writeFrame(s.conn, FrameStdin, chunk); err != nil {
			return n, fmt.Errorf("attach stdin: %w", err)
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// CloseStdin closes the process's stdin.
func (s *Stream) CloseStdin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return writeFrame(s.conn, FrameStdinEOF, nil)
}

// ErrDetached is returned by Copy when the stream ended before the
// process did.
var ErrDetached = errdefs.New(errdefs.ErrUnavailable, "shim: stream ended before the process")

// Copy writes the process's output to stdout and stderr (a terminal's
// all goes to stdout) until it ends and returns how it ended.
func (s *Stream) Copy(stdout, stderr io.Writer) (*Exit, error) {
	buf := make([]byte, maxFrame)
	for {
		kind, b, err := readFrame(s.conn, buf)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDetached, err)
		}
		switch kind {
		case FrameStdout:
			stdout.Write(b)
		case FrameStderr:
			stderr.Write(b)
		case FrameExit:
			var e Exit
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, fmt.Errorf("attach: bad exit: %w", err)
			}
			return &e, nil
		}
	}
}

// Close ends the stream; the process runs on.
func (s *Stream) Close() error { return s.conn.Close() }
