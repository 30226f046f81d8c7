package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

type tasksService struct {
	apiv1.UnimplementedTasksServer
	d *Daemon
}

type stdioStream = grpc.BidiStreamingServer[apiv1.StdioFrame, apiv1.StdioFrame]

// frameOut writes a process's output as frames; out and err share a
// lock, as the stream allows one sender at a time.
type frameOut struct {
	mu     *sync.Mutex
	stream stdioStream
	stderr bool
}

func (w frameOut) Write(p []byte) (int, error) {
	f := &apiv1.StdioFrame{Stdout: p}
	if w.stderr {
		f = &apiv1.StdioFrame{Stderr: p}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.stream.Send(f); err != nil {
		return 0, err
	}
	return len(p), nil
}

// serveStdio reads the client's frames after the first: stdin into the
// returned reader (nil unless withStdin), resizes to resize. It ends
// with the stream.
func serveStdio(stream stdioStream, withStdin bool, resize func(w, h uint16)) (io.Reader, <-chan struct{}) {
	pr, pw := io.Pipe()
	detached := make(chan struct{})
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				// A client gone is not the end of the process's input:
				// only a stdin_eof frame closes its stdin.
				pw.CloseWithError(errClientGone)
				return
			}
			if r := f.GetResize(); r != nil {
				resize(uint16(r.GetWidth()), uint16(r.GetHeight()))
			}
			if len(f.GetStdin()) > 0 && withStdin {
				_, _ = pw.Write(f.GetStdin())
			}
			if f.GetStdinEof() {
				pw.Close()
			}
			if f.GetDetach() {
				pw.CloseWithError(errClientGone)
				close(detached)
				return
			}
		}
	}()
	if !withStdin {
		return nil, detached
	}
	return pr, detached
}

// errClientGone ends the relay of a client's stdin without closing the
// process's: the client detached or went away.
var errClientGone = errors.New("attach client gone")

func stdioFor(stream stdioStream, stdin io.Reader) container.Stdio {
	mu := &sync.Mutex{}
	return container.Stdio{Stdin: stdin, Stdout: frameOut{mu: mu, stream: stream}, Stderr: frameOut{mu: mu, stream: stream, stderr: true}}
}

// Attach serves the Tasks.Attach RPC.
func (s *tasksService) Attach(stream stdioStream) error {
	ctx := stream.Context()
	ns, err := namespace(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	a := first.GetAttach()
	if a == nil {
		return fmt.Errorf("%w: attach: the first frame must say what to attach to", errdefs.ErrInvalidArgument)
	}
	id := a.GetId()
	var pre *engine.Prestart
	if a.GetCreate() != nil {
		if id, pre, err = s.createForAttach(ctx, ns, stream, a); err != nil {
			return err
		}
	}
	stdin, detached := serveStdio(stream, a.GetStdin(), func(w, h uint16) {
		_ = s.d.engine.ResizeContainer(context.WithoutCancel(ctx), ns, id, "", w, h)
	})
	o := engine.AttachOptions{Start: a.GetStart(), Width: uint16(a.GetSize().GetWidth()), Height: uint16(a.GetSize().GetHeight()), Prestart: pre}
	// A detach ends the engine's relay of stdin, which ends the attach.
	code, err := s.d.engine.AttachContainer(ctx, ns, id, stdioFor(stream, stdin), o)
	select {
	case <-detached:
		return nil // the client detached; the process runs on
	default:
	}
	if err != nil {
		return err
	}
	return stream.Send(&apiv1.StdioFrame{Exited: true, ExitCode: int32(code)})
}

// createForAttach creates the container an attach's first frame
// describes (run, in one round trip) and names it to the client, before
// the client sends anything else; it returns the container's id and its
// shim, started ahead for the start that follows.
func (s *tasksService) createForAttach(ctx context.Context, ns string, stream stdioStream, a *apiv1.AttachStart) (string, *engine.Prestart, error) {
	if !a.GetStart() || a.GetId() != "" {
		return "", nil, fmt.Errorf("%w: attach: a container to create is started, and has no id yet", errdefs.ErrInvalidArgument)
	}
	cfg, err := decodeConfig(a.GetCreate())
	if err != nil {
		return "", nil, err
	}
	c, pre, err := s.d.engine.CreateContainerToStart(ctx, ns, cfg)
	if err != nil {
		return "", nil, err
	}
	if err := stream.Send(&apiv1.StdioFrame{ContainerId: c.ID}); err != nil {
		pre.Abort()
		return "", nil, err
	}
	return c.ID, pre, nil
}

// Exec serves the Tasks.Exec RPC.
func (s *tasksService) Exec(stream stdioStream) error {
	ctx := stream.Context()
	ns, err := namespace(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	x := first.GetExec()
	if x == nil {
		return fmt.Errorf("%w: exec: the first frame must describe the process", errdefs.ErrInvalidArgument)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	execID := hex.EncodeToString(b)
	if err := stream.Send(&apiv1.StdioFrame{ExecId: execID}); err != nil {
		return err
	}
	stdin, _ := serveStdio(stream, x.GetStdin() && !x.GetDetach(), func(w, h uint16) {
		_ = s.d.engine.ResizeContainer(context.WithoutCancel(ctx), ns, x.GetId(), execID, w, h)
	})
	o := engine.ExecOptions{ID: execID, Detach: x.GetDetach(), Width: uint16(x.GetSize().GetWidth()), Height: uint16(x.GetSize().GetHeight()), ExecConfig: container.ExecConfig{
		Cmd: x.GetCmd(), Env: x.GetEnv(), User: x.GetUser(), WorkingDir: x.GetWorkingDir(), Tty: x.GetTty(), Privileged: x.GetPrivileged(),
	}}
	code, err := s.d.engine.Exec(ctx, ns, x.GetId(), o, stdioFor(stream, stdin))
	if err != nil {
		return err
	}
	return stream.Send(&apiv1.StdioFrame{Exited: true, ExitCode: int32(code)})
}

// Resize serves the Tasks.Resize RPC.
func (s *tasksService) Resize(ctx context.Context, r *apiv1.ResizeRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error {
		return s.d.engine.ResizeContainer(ctx, ns, r.GetId(), r.GetExecId(), uint16(r.GetWidth()), uint16(r.GetHeight()))
	})
}

// CloseStdin serves the Tasks.CloseStdin RPC.
func (s *tasksService) CloseStdin(ctx context.Context, r *apiv1.CloseStdinRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.CloseStdin(ctx, ns, r.GetId(), r.GetExecId()) })
}

// Pause serves the Tasks.Pause RPC.
func (s *tasksService) Pause(ctx context.Context, r *apiv1.ContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.PauseContainer(ctx, ns, r.GetId()) })
}

// Resume serves the Tasks.Resume RPC.
func (s *tasksService) Resume(ctx context.Context, r *apiv1.ContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.UnpauseContainer(ctx, ns, r.GetId()) })
}
