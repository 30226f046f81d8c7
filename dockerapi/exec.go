package dockerapi

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
)

func (s *Server) routeExec(mux *http.ServeMux) {
	mux.HandleFunc("POST /containers/{id}/exec", s.createExec)
	mux.HandleFunc("POST /exec/{id}/start", s.startExec)
	mux.HandleFunc("POST /exec/{id}/resize", s.resizeExec)
	mux.HandleFunc("GET /exec/{id}/json", s.inspectExec)
}

// execInstance is a Docker exec: made by a create, run once by a start.
// Like dockerd's, it lives in the server's memory until its container
// is removed.
type execInstance struct {
	id          string // Docker's, 64 hex digits
	containerID string
	cfg         dcontainer.ExecCreateRequest

	mu       sync.Mutex
	started  bool // a start took it
	running  bool // its process runs
	pid      int
	exitCode *int
	// size is a resize that came before the process ran: [height, width].
	size *[2]uint16
}

// shimID names the process in the container's shim: a prefix, which
// keeps the shim's socket paths short.
func (x *execInstance) shimID() string { return x.id[:16] }

// newExecID is a random 64-hex-digit ID, as Docker's.
func newExecID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errNoExec is the 404 of an exec ID not known.
func errNoExec(id string) error {
	return errdefs.New(errdefs.ErrNotFound, "No such exec instance: "+id)
}

// errContainerNotRunning is Docker's 409 for an exec in a container
// that does not run.
func errContainerNotRunning(c engine.Container) error {
	if c.Status.State == engine.StatePaused {
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is paused, unpause the container before exec", c.ID))
	}
	return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("container %s is not running", c.ID))
}

func (s *Server) addExec(x *execInstance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.execs[x.id] = x
}

// execOf returns exec id and its running container; an exec whose
// container was removed is dropped.
func (s *Server) execOf(r *http.Request) (*execInstance, engine.Container, error) {
	id := r.PathValue("id")
	s.mu.Lock()
	x := s.execs[id]
	s.mu.Unlock()
	if x == nil {
		return nil, engine.Container{}, errNoExec(id)
	}
	c, err := s.e.Container(r.Context(), Namespace, x.containerID)
	if errors.Is(err, errdefs.ErrNotFound) {
		s.dropContainer(x.containerID)
		return nil, c, errNoExec(id)
	}
	return x, c, err
}

// dropContainer forgets what the server keeps of a removed container:
// its execs and its console size.
func (s *Server) dropContainer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, x := range s.execs {
		if x.containerID == id {
			delete(s.execs, k)
		}
	}
	delete(s.consoleSizes, id)
}

// execIDs lists the execs running in container id, as inspect shows.
func (s *Server) execIDs(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, x := range s.execs {
		x.mu.Lock()
		if x.containerID == id && x.running {
			ids = append(ids, x.id)
		}
		x.mu.Unlock()
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) createExec(w http.ResponseWriter, r *http.Request) {
	var req dcontainer.ExecCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Cmd) == 0 {
		writeError(w, invalid("No exec command specified"))
		return
	}
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Status.State != engine.StateRunning {
		writeError(w, errContainerNotRunning(c))
		return
	}
	x := &execInstance{id: newExecID(), containerID: c.ID, cfg: req}
	s.addExec(x)
	writeJSON(w, http.StatusCreated, dcontainer.ExecCreateResponse{ID: x.id})
}

// begin marks x started; false when a start took it already.
func (x *execInstance) begin() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.started {
		return false
	}
	x.started = true
	return true
}

// options are the engine's options for x's process, its terminal sized
// by size ([height, width]) when set, else by a resize that came first.
func (x *execInstance) options(size *[2]uint) engine.ExecOptions {
	o := engine.ExecOptions{ID: x.shimID(), ExecConfig: container.ExecConfig{
		Cmd: x.cfg.Cmd, Env: x.cfg.Env, User: x.cfg.User, WorkingDir: x.cfg.WorkingDir, Tty: x.cfg.Tty, Privileged: x.cfg.Privileged,
	}}
	if size == nil {
		size = x.cfg.ConsoleSize
	}
	x.mu.Lock()
	if size == nil && x.size != nil {
		size = &[2]uint{uint(x.size[0]), uint(x.size[1])}
	}
	x.mu.Unlock()
	if size != nil {
		o.Height, o.Width = clampSize(size[0]), clampSize(size[1])
	}
	return o
}

func clampSize(n uint) uint16 { return uint16(min(n, 1<<16-1)) }

// run records that x's process runs as pid; a resize that came while
// it started is applied.
func (s *Server) run(x *execInstance, o engine.ExecOptions, pid int) {
	x.mu.Lock()
	x.running, x.pid = true, pid
	size := x.size
	x.size = nil
	x.mu.Unlock()
	if size != nil && (size[0] != o.Height || size[1] != o.Width) {
		if err := s.e.ResizeContainer(s.ctx, Namespace, x.containerID, x.shimID(), size[1], size[0]); err != nil {
			s.log.Debug("exec: resize", "id", x.id, "err", err)
		}
	}
}

// exit records how x's process ended.
func (x *execInstance) exit(code int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.running, x.exitCode = false, &code
}

// exitCodeOf is the exit code Docker gives an exec that failed to start.
func exitCodeOf(err error) int {
	if errors.Is(err, engine.ErrCommandNotFound) {
		return 127
	}
	return 126
}

func (s *Server) startExec(w http.ResponseWriter, r *http.Request) {
	var req dcontainer.ExecStartRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	x, c, err := s.execOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Status.State != engine.StateRunning {
		writeError(w, errContainerNotRunning(c))
		return
	}
	if !x.begin() {
		writeError(w, errdefs.New(errdefs.ErrConflict, fmt.Sprintf("exec %s has already been started", x.id)))
		return
	}
	if !s.addStream() {
		writeError(w, errdefs.New(errdefs.ErrUnavailable, "berthd is stopping"))
		return
	}
	o := x.options(req.ConsoleSize)
	if req.Detach {
		s.startDetached(w, x, o)
		return
	}
	defer s.streams.Done()
	conn, rw, err := hijack(w, r, req.Tty)
	if err != nil {
		s.log.Debug("exec: hijack", "err", err)
		x.exit(exitCodeOf(err))
		return
	}
	defer conn.Close()
	s.relayExec(conn, rw.Reader, x, o, req.Tty)
}

// startDetached runs x's process with no stdio and answers once it
// runs (or failed to start); it is followed to its exit.
func (s *Server) startDetached(w http.ResponseWriter, x *execInstance, o engine.ExecOptions) {
	started := make(chan struct{})
	failed := make(chan error, 1)
	o.Started = func(pid int) {
		s.run(x, o, pid)
		close(started)
	}
	go func() {
		defer s.streams.Done()
		code, err := s.e.Exec(s.ctx, Namespace, x.containerID, o, container.Stdio{})
		switch {
		case err != nil && s.ctx.Err() != nil: // berthd stops; the process runs on
		case err != nil:
			x.exit(exitCodeOf(err))
			failed <- err
		default:
			x.exit(code)
		}
	}()
	select {
	case <-started:
		w.WriteHeader(http.StatusOK)
	case err := <-failed:
		writeError(w, err)
	case <-s.ctx.Done():
		writeError(w, errdefs.New(errdefs.ErrUnavailable, "berthd is stopping"))
	}
}

// relayExec runs x's process attached to conn until it exits: framed
// without a TTY, raw with one. A start that fails is told on the stream
// (as Docker does once it hijacked). The exit code is recorded before
// the stream ends: the Docker CLI inspects the exec then.
func (s *Server) relayExec(conn net.Conn, in *bufio.Reader, x *execInstance, o engine.ExecOptions, tty bool) {
	stdio := streamStdio(conn, tty, x.cfg.AttachStdout, x.cfg.AttachStderr)
	if x.cfg.AttachStdin {
		stdio.Stdin = in
	} else {
		go discard(in, nil)
	}
	o.Started = func(pid int) { s.run(x, o, pid) }
	// The process runs on when the client goes away, as Docker's: its
	// exit is still recorded.
	code, err := s.e.Exec(s.ctx, Namespace, x.containerID, o, stdio)
	switch {
	case err != nil && s.ctx.Err() != nil:
		return
	case err != nil:
		code = exitCodeOf(err)
		out := stdio.Stderr
		if tty || out == nil {
			out = stdio.Stdout
		}
		if out != nil {
			fmt.Fprintf(out, "%s\r\n", err)
		}
	}
	x.exit(code)
	closeWrite(conn)
}

// parseSize reads a resize request's ?h= and ?w=.
func parseSize(r *http.Request) (height, width uint16, err error) {
	q := r.URL.Query()
	h, err := strconv.ParseUint(q.Get("h"), 10, 16)
	if err != nil {
		return 0, 0, invalid("invalid resize height %q", q.Get("h"))
	}
	wd, err := strconv.ParseUint(q.Get("w"), 10, 16)
	if err != nil {
		return 0, 0, invalid("invalid resize width %q", q.Get("w"))
	}
	return uint16(h), uint16(wd), nil
}

// resizeExec sizes an exec's terminal; before its process runs the size
// is kept for its start.
func (s *Server) resizeExec(w http.ResponseWriter, r *http.Request) {
	h, wd, err := parseSize(r)
	if err != nil {
		writeError(w, err)
		return
	}
	x, _, err := s.execOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	x.mu.Lock()
	running, exited := x.running, x.exitCode != nil
	if !running && !exited {
		x.size = &[2]uint16{h, wd}
	}
	x.mu.Unlock()
	switch {
	case exited:
		err = errdefs.New(errdefs.ErrConflict, fmt.Sprintf("exec %s is not running", x.id))
	case running:
		err = s.e.ResizeContainer(r.Context(), Namespace, x.containerID, x.shimID(), wd, h)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) inspectExec(w http.ResponseWriter, r *http.Request) {
	x, _, err := s.execOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, x.inspect())
}

// inspect is x as GET /exec/{id}/json shows it.
func (x *execInstance) inspect() dcontainer.ExecInspectResponse {
	x.mu.Lock()
	defer x.mu.Unlock()
	privileged := x.cfg.Privileged
	out := dcontainer.ExecInspectResponse{
		ID: x.id, Running: x.running, ContainerID: x.containerID, Pid: x.pid,
		OpenStdin: x.cfg.AttachStdin, OpenStdout: x.cfg.AttachStdout, OpenStderr: x.cfg.AttachStderr,
		ProcessConfig: &dcontainer.ExecProcessConfig{
			Tty: x.cfg.Tty, Entrypoint: x.cfg.Cmd[0], Arguments: slices.Clone(x.cfg.Cmd[1:]), User: x.cfg.User,
			Privileged: &privileged,
		},
	}
	if x.exitCode != nil {
		code := *x.exitCode
		out.ExitCode = &code
	}
	return out
}
