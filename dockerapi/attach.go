package dockerapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
)

// pendingAttach is an attach to a container that does not run yet: the
// Docker CLI attaches before it starts. The start hands the attach its
// start, so that the container is attached before it prints anything.
type pendingAttach struct {
	// starts receives the start request's reply channel: the attach
	// starts the container and answers there once it runs (or failed).
	starts chan chan error
	done   chan struct{} // closed when the attach ended
}

// errAttachGone is a pending attach's client gone before the start.
var errAttachGone = errors.New("the attached client went away before the start")

// start has the attach start the container; it returns once it runs.
func (p *pendingAttach) start(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case p.starts <- reply:
	case <-p.done:
		return errAttachGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// takePending removes and returns id's pending attach, if any.
func (s *Server) takePending(id string) *pendingAttach {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	delete(s.pending, id)
	return p
}

// addPending registers an attach waiting for id's start; false when one
// already waits.
func (s *Server) addPending(id string, p *pendingAttach) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; ok {
		return false
	}
	s.pending[id] = p
	return true
}

func (s *Server) dropPending(id string, p *pendingAttach) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[id] == p {
		delete(s.pending, id)
	}
}

// attachContainer hijacks the connection (101 with Upgrade: tcp, else
// 200) and relays the container's stdio: framed without a TTY, raw with
// one. A container that does not run yet is attached at its start.
func (s *Server) attachContainer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if boolParam(q.Get("logs")) {
		writeError(w, invalid("attach with logs=1 is not served; use the logs endpoint"))
		return
	}
	if !boolParam(q.Get("stream")) {
		w.WriteHeader(http.StatusOK) // nothing to stream: Docker answers empty too
		return
	}
	cfg, err := engine.ContainerConfig(c)
	if err != nil {
		writeError(w, err)
		return
	}
	running := c.Status.State == engine.StateRunning || c.Status.State == engine.StatePaused
	var p *pendingAttach
	if !running {
		p = &pendingAttach{starts: make(chan chan error), done: make(chan struct{})}
		if !s.addPending(c.ID, p) {
			writeError(w, invalid("container %.12s already has an attach waiting for its start", c.ID))
			return
		}
		defer s.dropPending(c.ID, p)
		defer close(p.done)
	}
	if !s.addStream() {
		writeError(w, errdefs.New(errdefs.ErrUnavailable, "berthd is stopping"))
		return
	}
	defer s.streams.Done()
	conn, rw, err := hijack(w, r, cfg.Tty)
	if err != nil {
		s.log.Debug("attach: hijack", "err", err)
		return
	}
	defer conn.Close()
	s.relayAttach(conn, rw.Reader, c.ID, cfg, attachParams{
		stdin: boolParam(q.Get("stdin")), stdout: boolParam(q.Get("stdout")), stderr: boolParam(q.Get("stderr")),
	}, p)
}

type attachParams struct{ stdin, stdout, stderr bool }

// relayAttach attaches conn to the container until it exits, the client
// goes away or berthd stops.
func (s *Server) relayAttach(conn net.Conn, in *bufio.Reader, id string, cfg container.Config, ap attachParams, p *pendingAttach) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stdio := streamStdio(conn, cfg.Tty, ap.stdout, ap.stderr)
	if ap.stdin && cfg.OpenStdin {
		stdio.Stdin = in
	} else {
		go discard(in, cancel)
	}
	opts := engine.AttachOptions{}
	var reply chan error
	if p != nil {
		select {
		case reply = <-p.starts:
		case <-ctx.Done():
			return
		}
		opts.Start = true
		opts.Started = func() { reply <- nil }
		opts.Height, opts.Width = s.consoleSize(id)
	}
	_, err := s.e.AttachContainer(ctx, Namespace, id, stdio, opts)
	if reply != nil {
		select {
		case reply <- err: // a failed start: the start request answers it
		default:
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Debug("attach", "id", id, "err", err)
	}
	closeWrite(conn)
}

// streamStdio is the stdio relayed on conn: raw with a TTY, framed by
// stream without one. The streams not asked for are nil.
func streamStdio(conn net.Conn, tty, stdout, stderr bool) container.Stdio {
	var stdio container.Stdio
	if tty {
		stdio.Stdout = &lockedWriter{w: conn}
	} else {
		stdio.Stdout, stdio.Stderr = newMux(conn)
	}
	if !stdout {
		stdio.Stdout = nil
	}
	if !stderr {
		stdio.Stderr = nil
	}
	return stdio
}

// discard reads a stream nothing is written from until it ends. A read
// error other than the client's half-close is the client gone: gone is
// called then, when set.
func discard(in io.Reader, gone func()) {
	if _, err := io.Copy(io.Discard, in); err != nil && gone != nil {
		gone()
	}
}

// closeWrite half-closes conn: the client reads the stream's end.
func closeWrite(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// setConsoleSize keeps the terminal size a create asked for (Docker's
// HostConfig.ConsoleSize, [height, width]): an attach that starts the
// container sizes its terminal with it, before it runs.
func (s *Server) setConsoleSize(id string, size [2]uint) {
	if size[0] == 0 || size[1] == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consoleSizes[id] = [2]uint16{clampSize(size[0]), clampSize(size[1])}
}

// consoleSize is container id's size from its create, or zeros.
func (s *Server) consoleSize(id string) (height, width uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := s.consoleSizes[id]
	return size[0], size[1]
}

// resizeContainer sizes a running container's terminal.
func (s *Server) resizeContainer(w http.ResponseWriter, r *http.Request) {
	h, wd, err := parseSize(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Status.State != engine.StateRunning && c.Status.State != engine.StatePaused {
		writeError(w, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is not running", c.ID)))
		return
	}
	if err := s.e.ResizeContainer(r.Context(), Namespace, c.ID, "", wd, h); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// hijack takes the connection over and writes the status line: 101 to
// an Upgrade: tcp request, 200 otherwise.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	ctype := "application/vnd.docker.raw-stream"
	if !tty && compareVersions(versionOf(r), "1.42") >= 0 {
		ctype = "application/vnd.docker.multiplexed-stream"
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: " + ctype + "\r\n\r\n"
	if r.Header.Get("Upgrade") != "" {
		head = fmt.Sprintf("HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", ctype, r.Header.Get("Upgrade"))
	}
	if _, err := rw.WriteString(head); err != nil {
		conn.Close()
		return nil, nil, err
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rw, nil
}
