package streaming

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Resizes that fail (an exec whose process is not started yet) are
// retried this often, this many times.
const (
	resizeRetry    = 50 * time.Millisecond
	resizeAttempts = 40
)

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	req, ok := take[*runtimeapi.ExecRequest](s, w, r)
	if !ok {
		return
	}
	id := newExecID()
	s.stream(w, r, streamOpts{req.Stdin, req.Stdout, req.Stderr, req.Tty}, req.ContainerId, id,
		func(ctx context.Context, stdio container.Stdio) (int, error) {
			o := engine.ExecOptions{ExecConfig: container.ExecConfig{Cmd: req.Cmd, Tty: req.Tty}, ID: id, KillOnCancel: true}
			return s.e.Exec(ctx, s.ns, req.ContainerId, o, stdio)
		})
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	req, ok := take[*runtimeapi.AttachRequest](s, w, r)
	if !ok {
		return
	}
	s.stream(w, r, streamOpts{req.Stdin, req.Stdout, req.Stderr, req.Tty}, req.ContainerId, "",
		func(ctx context.Context, stdio container.Stdio) (int, error) {
			// As the kubelet's, an attach reports success however the
			// container ended; the exit code is the container's status.
			_, err := s.e.AttachContainer(ctx, s.ns, req.ContainerId, stdio, engine.AttachOptions{})
			return 0, err
		})
}

// stream opens the streams of one exec or attach session, forwards its
// resizes to the container's process execID ("" for its init) and
// reports what run returns as the session's status.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, o streamOpts, ctr, execID string,
	run func(context.Context, container.Stdio) (int, error)) {
	s.session(w, func() {
		sess, err := s.openStreams(w, r, o)
		if err != nil {
			return
		}
		ctx, cancel := sess.context(s.ctx)
		defer cancel()
		go resizeLoop(ctx, sess.resize, func(t termSize) error {
			return s.e.ResizeContainer(ctx, s.ns, ctr, execID, t.Width, t.Height)
		})
		sess.finish(run(ctx, sess.stdio()))
	})
}

// take returns the request kept under the URL's token, or answers 404.
func take[T any](s *Server, w http.ResponseWriter, r *http.Request) (T, bool) {
	var zero T
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return zero, false
	}
	v, ok := s.tokens.consume(r.PathValue("token"))
	req, isT := v.(T)
	if !ok || !isT {
		http.Error(w, "unknown or expired streaming token", http.StatusNotFound)
		return zero, false
	}
	return req, true
}

// context is parent's child that ends when the client goes away.
func (r *rcSession) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	if r.gone != nil {
		go func() {
			select {
			case <-r.gone:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// stdio is the session's streams as the engine takes them.
func (r *rcSession) stdio() container.Stdio {
	var st container.Stdio
	if r.stdin != nil {
		st.Stdin = r.stdin
	}
	if r.stdout != nil {
		st.Stdout = r.stdout
	}
	if r.stderr != nil {
		st.Stderr = r.stderr
	}
	return st
}

// resizeLoop applies the sizes read from src, the last one again a
// while when it fails, until src or ctx ends.
func resizeLoop(ctx context.Context, src io.Reader, apply func(termSize) error) {
	if src == nil {
		return
	}
	sizes := make(chan termSize)
	go func() {
		defer close(sizes)
		dec := json.NewDecoder(src)
		for {
			var t termSize
			if dec.Decode(&t) != nil {
				return
			}
			select {
			case sizes <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	var pending *termSize
	tries := 0
	for {
		var retry <-chan time.Time
		if pending != nil {
			retry = time.After(resizeRetry)
		}
		select {
		case <-ctx.Done():
			return
		case t, ok := <-sizes:
			if !ok {
				sizes = nil
				if pending == nil {
					return
				}
				continue
			}
			pending, tries = &t, 0
		case <-retry:
		}
		if pending != nil {
			if apply(*pending) == nil || tries >= resizeAttempts {
				pending = nil
			}
			tries++
		}
		if pending == nil && sizes == nil {
			return
		}
	}
}

// newExecID names an exec process for its resizes.
func newExecID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "cri-" + hex.EncodeToString(b)
}
