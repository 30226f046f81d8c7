package shim

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Method names of the RPC.
const (
	MethodState      = "State"
	MethodStart      = "Start"
	MethodKill       = "Kill"
	MethodExec       = "Exec"
	MethodResizePty  = "ResizePty"
	MethodCloseStdin = "CloseStdin"
	MethodWait       = "Wait"
	MethodPids       = "Pids"
	MethodPause      = "Pause"
	MethodResume     = "Resume"
	MethodDelete     = "Delete"
	MethodShutdown   = "Shutdown"
	MethodAttach     = "Attach"
	MethodReopenLog  = "ReopenLog"
	MethodCreate     = "Create"
)

// maxMessage bounds one RPC message (a process spec is the largest).
const maxMessage = 1 << 20

// Request is one RPC call. Fields a method does not use are empty.
type Request struct {
	Method string `json:"method"`
	// ID is the task's container ID; ExecID, when set, names one of its
	// exec'd processes instead of its init.
	ID     string `json:"id,omitempty"`
	ExecID string `json:"exec_id,omitempty"`
	// Signal and All are Kill's.
	Signal int  `json:"signal,omitempty"`
	All    bool `json:"all,omitempty"`
	// Spec is Exec's runtime-spec Process, as JSON; Stdin and Terminal
	// give the process a stdin pipe or a pty.
	Spec     json.RawMessage `json:"spec,omitempty"`
	Stdin    bool            `json:"stdin,omitempty"`
	Terminal bool            `json:"terminal,omitempty"`
	// Attach, on Exec, turns the connection into the process's stdio
	// stream once the reply is sent, so that no output is missed.
	Attach bool `json:"attach,omitempty"`
	// Start, on Attach, starts the created init once the connection is
	// subscribed: attach and start in one round trip.
	Start bool `json:"start,omitempty"`
	// Width and Height are ResizePty's.
	Width  uint16 `json:"width,omitempty"`
	Height uint16 `json:"height,omitempty"`
	// Force, on Delete, kills a running task first.
	Force bool `json:"force,omitempty"`
	// Task is Create's container: its ID, bundle, state directory, log
	// and stdio; the runtime is the shim's.
	Task *Config `json:"task,omitempty"`
}

// Response is an RPC reply: Error is set on failure.
type Response struct {
	Error string `json:"error,omitempty"`
	State *State `json:"state,omitempty"`
	Exit  *Exit  `json:"exit,omitempty"`
	Pids  []int  `json:"pids,omitempty"`
}

// Status of a task's process.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
)

// State describes one process of a task.
type State struct {
	ID       string `json:"id"`
	ExecID   string `json:"exec_id,omitempty"`
	Pid      int    `json:"pid"`
	Status   string `json:"status"`
	Bundle   string `json:"bundle,omitempty"`
	Terminal bool   `json:"terminal,omitempty"`
	Exit     *Exit  `json:"exit,omitempty"`
	ShimPid  int    `json:"shim_pid"`
}

// Reasons an Exit gives.
const (
	ReasonExited   = "exited"    // the process returned Code
	ReasonSignaled = "signaled"  // a signal (Signal) ended it
	ReasonShimDied = "shim died" // its shim ended without recording an exit
)

// Exit is how a process ended.
type Exit struct {
	// Code is the exit code, 128+signal for a signal (as shells and
	// Docker report it), 255 when unknown.
	Code   int       `json:"code"`
	Signal int       `json:"signal,omitempty"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// RemoteError is an error the shim returned.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// ErrTooLarge is returned for a message over the protocol's limit.
var ErrTooLarge = errors.New("shim: message too large")

// writeMsg sends v as a 4-byte big-endian length and its JSON.
func writeMsg(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if len(b) > maxMessage {
		return ErrTooLarge
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// readMsg reads one message written by writeMsg into v.
func readMsg(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxMessage {
		return ErrTooLarge
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode message: %w", err)
	}
	return nil
}

// Stream frame kinds on an attached connection: each frame is a kind
// byte, a 4-byte big-endian length and that many bytes.
const (
	FrameStdin    byte = 0 // client → shim: bytes for the process's stdin
	FrameStdout   byte = 1 // shim → client
	FrameStderr   byte = 2 // shim → client
	FrameStdinEOF byte = 3 // client → shim: close the process's stdin
	FrameExit     byte = 4 // shim → client: the process's Exit as JSON, last frame
)

// maxFrame bounds a stream frame.
const maxFrame = 64 * 1024

func writeFrame(w io.Writer, kind byte, p []byte) error {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, ErrTooLarge
	}
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return hdr[0], buf, nil
}
