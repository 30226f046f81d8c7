package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"golang.org/x/term"
	"google.golang.org/grpc"
)

// ExitError ends berth with Code; Msg, when set, is printed first.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// engineExit is Docker's exit code for a failure of the engine's own
// (125), or of the container's command: 127 not found, 126 not runnable.
func engineExit(err error) error {
	var exit *ExitError
	if err == nil || errors.As(err, &exit) {
		return err
	}
	code := 125
	msg := Explain(err)
	switch {
	case strings.Contains(msg, "command not found: "):
		code = 127
	case strings.Contains(msg, "command cannot be run: "):
		code = 126
	}
	return &ExitError{Code: code, Msg: msg}
}

// stdioSession runs an attach or exec stream: first is the opening
// frame; stdin (when given) is sent, with a terminal in raw mode and its
// size kept in step; output goes to stdout and stderr. It returns the
// process's exit code.
type stdioSession struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool
	// sigProxy forwards SIGINT and SIGTERM (no tty) with kill.
	sigProxy func(sig string)
	// created receives the id berthd names when the opening frame asks
	// it to create the container, before anything else happens.
	created func(id string)
	// detachKeys, typed on stdin, end the session and leave the
	// process running (Docker's ctrl-p ctrl-q); nil: none.
	detachKeys []byte
}

// defaultDetachKeys are Docker's: ctrl-p, ctrl-q.
var defaultDetachKeys = []byte{0x10, 0x11}

// errDetached ends a session whose user typed the detach keys.
var errDetached = errors.New("detached")

func (s stdioSession) run(ctx context.Context, open func(context.Context, ...grpc.CallOption) (apiv1.Tasks_AttachClient, error), first *apiv1.StdioFrame) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := open(ctx)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	send := func(f *apiv1.StdioFrame) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(f)
	}
	if s.tty {
		if w, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			size := &apiv1.Resize{Width: uint32(w), Height: uint32(h)}
			if first.GetAttach() != nil {
				first.Attach.Size = size
			} else if first.GetExec() != nil {
				first.Exec.Size = size
			}
		}
	}
	if err := send(first); err != nil {
		return 0, err
	}
	if first.GetAttach().GetCreate() != nil {
		// Nothing of the user's goes out before the container exists: a
		// create that fails (a missing image) may be tried again.
		f, err := stream.Recv()
		if err != nil {
			return 0, err
		}
		if f.GetContainerId() == "" {
			return 0, errors.New("berthd did not name the container it created")
		}
		s.created(f.GetContainerId())
	}
	if s.tty {
		if restore := rawTerminal(); restore != nil {
			defer restore()
		}
		resize := func() {
			if w, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
				_ = send(&apiv1.StdioFrame{Resize: &apiv1.Resize{Width: uint32(w), Height: uint32(h)}})
			}
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				resize()
			}
		}()
		resize()
	} else if s.sigProxy != nil {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				s.sigProxy(strings.ToUpper(unixSignalName(sig)))
			}
		}()
	}
	var detached atomic.Bool
	if s.stdin != nil {
		go func() {
			keys := detachScanner{keys: s.detachKeys}
			buf := make([]byte, 32*1024)
			for {
				n, err := s.stdin.Read(buf)
				data, detach := keys.scan(buf[:n])
				if len(data) > 0 && send(&apiv1.StdioFrame{Stdin: data}) != nil {
					return
				}
				if detach {
					// berthd relays what came before, then ends the stream.
					detached.Store(true)
					_ = send(&apiv1.StdioFrame{Detach: true})
					return
				}
				if err != nil {
					_ = send(&apiv1.StdioFrame{StdinEof: true})
					return
				}
			}
		}()
	}
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if detached.Load() {
				return 0, errDetached
			}
			return 0, errors.New("berthd ended the stream before the process exited")
		}
		if err != nil {
			return 0, err
		}
		if len(f.GetStdout()) > 0 {
			_, _ = s.stdout.Write(f.GetStdout())
		}
		if len(f.GetStderr()) > 0 {
			_, _ = s.stderr.Write(f.GetStderr())
		}
		if f.GetExited() {
			return int(f.GetExitCode()), nil
		}
	}
}

func unixSignalName(sig os.Signal) string {
	if sig == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

// rawTerminal puts stdin in raw mode when it is a terminal and returns
// what restores it.
func rawTerminal() func() {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil
	}
	return func() { _ = term.Restore(fd, old) }
}

// detachScanner finds the detach keys in stdin's stream, also split
// across reads; bytes that only began the sequence are passed on once it
// turns out not to be one.
type detachScanner struct {
	keys []byte
	held int // how many of keys the last read ended with
}

// scan returns what of b (after anything held back) is stdin for the
// process, and whether the keys were typed.
func (d *detachScanner) scan(b []byte) ([]byte, bool) {
	if len(d.keys) == 0 {
		return append([]byte(nil), b...), false
	}
	out := make([]byte, 0, len(b)+d.held)
	for _, c := range b {
		if c == d.keys[d.held] {
			d.held++
			if d.held == len(d.keys) {
				return out, true
			}
			continue
		}
		out = append(out, d.keys[:d.held]...)
		d.held = 0
		if c == d.keys[0] {
			d.held = 1
			continue
		}
		out = append(out, c)
	}
	return out, false
}
