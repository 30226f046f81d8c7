package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime/execfifo"
	"github.com/berth-dev/berth/shim/logs"
)

// Errors the server returns; the client sees their text.
var (
	ErrNotFound = errors.New("no such task or process")
	ErrRunning  = errors.New("process is running")
	ErrState    = errors.New("process is not in a state for this")
)

// task is one container the shim holds.
type task struct {
	id, bundle, stateDir string
	init                 *process
	log                  *logs.Writer
	execs                map[string]*process
	// logCreated is set when the shim made the log file (removed again
	// if the create fails).
	logCreated bool
	// ops is held shared by every runtime command on the task and by
	// exec's files in its state directory, and exclusively by delete,
	// so that no command writes into the state directory (the runtime's
	// log) while delete removes it. gone is set, under ops, once the
	// task is deleted.
	ops  sync.RWMutex
	gone bool
}

// run runs the runtime on t unless t is being or has been deleted.
func (s *server) run(t *task, stdio [3]*os.File, args ...string) ([]byte, error) {
	unlock, err := t.live(args[0])
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.runtime(t.config()).run(stdio, args...)
}

// live holds t's operations shared for op, unless t is being or has
// been deleted; the caller unlocks.
func (t *task) live(op string) (unlock func(), err error) {
	t.ops.RLock()
	if t.gone {
		t.ops.RUnlock()
		return nil, fmt.Errorf("%s %s: %w", op, t.id, ErrNotFound)
	}
	return t.ops.RUnlock, nil
}

// config is what runs the runtime for t.
func (t *task) config() *Config { return &Config{ID: t.id, StateDir: t.stateDir} }

// server is a running shim.
type server struct {
	cfg    Config // the first container's, and the shim's runtime and directory
	reaper *reaper
	ln     *os.File // the listening socket
	done   chan struct{}
	once   sync.Once

	// ev orders the shim's events against a hand-off to its idle
	// program (idle.go).
	ev events

	mu    sync.Mutex
	tasks map[string]*task
	// parked are the connections whose Wait blocks until a process ends:
	// they are kept across a hand-off to the idle program.
	parked map[*net.UnixConn]*process
	// closing is set once the last task is deleted: the shim exits and
	// takes no new one. pending counts Creates under way, which keep it.
	closing bool
	pending int
}

// serve answers connections until the shim is told to exit; a shim
// with nothing to do meanwhile hands its descriptors to its idle
// program (idle.go).
func (s *server) serve() {
	go s.accept()
	go s.idle()
	<-s.done
	closeListener(s.ln)
}

// accept serves each connection; it ends the shim when the listener
// fails. Taking a connection in is one event (events.consume): the
// hand-off to the idle program never takes place with a connection
// accepted and not yet served.
func (s *server) accept() {
	rc, err := s.ln.SyscallConn()
	for err == nil {
		nfd, aerr := -1, error(nil)
		err = rc.Read(func(fd uintptr) bool {
			ready := true
			s.ev.consume(func() {
				nfd, aerr = accept4(int(fd))
				switch aerr {
				case unix.EAGAIN:
					ready = false // wait in the poller
				case nil:
					s.ev.busy.Add(1) // until handle is done
				}
			})
			return ready
		})
		switch {
		case err != nil:
		case aerr == nil:
			if conn := fileConn(nfd); conn != nil {
				go s.handle(conn)
			} else {
				s.ev.busy.Add(-1)
			}
		case aerr != unix.ECONNABORTED:
			err = aerr
		}
	}
	s.exit()
}

// accept4 accepts a connection on the listening socket fd, close-on-exec
// and non-blocking, again if interrupted. Unlike unix.Accept4 it asks
// for no peer address (which a client's unbound unix socket does not
// have).
func accept4(fd int) (int, error) {
	for {
		nfd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0, 0)
		switch errno {
		case 0:
			return int(nfd), nil
		case unix.EINTR:
		default:
			return -1, errno
		}
	}
}

// fileConn makes a connection of the descriptor nfd, which it takes.
func fileConn(nfd int) *net.UnixConn {
	f := os.NewFile(uintptr(nfd), "conn")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil
	}
	if uc, ok := c.(*net.UnixConn); ok {
		return uc
	}
	c.Close()
	return nil
}

func (s *server) exit() { s.once.Do(func() { close(s.done) }) }

// handle serves one request on conn; Attach and an attached Exec then
// stream stdio on it.
func (s *server) handle(conn *net.UnixConn) {
	defer func() {
		s.ev.stir.Add(1)
		s.ev.busy.Add(-1)
	}()
	if !s.trusted(conn) {
		conn.Close()
		return
	}
	var req Request
	if err := readMsg(conn, &req); err != nil {
		conn.Close()
		return
	}
	resp, p, a, after := s.dispatch(conn, &req)
	err := writeMsg(conn, resp)
	switch {
	case a != nil:
		a.mu.Unlock()
		p.feed(a) // a write error ends it at once
	case p != nil && err == nil: // attached to an ended process
		_ = writeFrame(conn, FrameExit, p.exitFrame())
		conn.Close()
	default:
		conn.Close()
	}
	if after != nil {
		after()
	}
}

// trusted admits only clients with the shim's own effective uid (root):
// the socket's mode already says so, this holds if it is ever loosened.
func (s *server) trusted(conn *net.UnixConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	cerr := raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	return cerr == nil && err == nil && cred != nil && int(cred.Uid) == os.Geteuid()
}

// dispatch runs req. For Attach and an attached Exec it returns the
// process and conn subscribed to it (nil once the process has ended); it
// also returns what to do once the reply is sent.
func (s *server) dispatch(conn *net.UnixConn, req *Request) (resp *Response, p *process, a *attached, after func()) {
	fail := func(err error) (*Response, *process, *attached, func()) {
		return &Response{Error: err.Error()}, nil, nil, nil
	}
	s.mu.Lock()
	t, n := s.tasks[req.ID], len(s.tasks)
	s.mu.Unlock()
	switch req.Method {
	case MethodShutdown:
		if n > 0 && !req.Force {
			return fail(fmt.Errorf("shutdown: %w: %d tasks are not deleted", ErrState, n))
		}
		return &Response{}, nil, nil, s.exit
	case MethodCreate:
		st, after, err := s.add(req)
		if err != nil {
			return &Response{Error: err.Error()}, nil, nil, after
		}
		return &Response{State: st}, nil, nil, nil
	}
	if t == nil {
		return fail(fmt.Errorf("%s %s: %w", req.Method, req.ID, ErrNotFound))
	}
	if req.Method == MethodExec {
		var c *net.UnixConn
		if req.Attach {
			c = conn
		}
		p, a, err := s.exec(t, req, c)
		if err != nil {
			return fail(err)
		}
		return &Response{State: s.procState(t, req.ExecID)}, p, a, nil
	}
	p = t.init
	if req.ExecID != "" {
		s.mu.Lock()
		p = t.execs[req.ExecID]
		s.mu.Unlock()
		if p == nil {
			return fail(fmt.Errorf("%s %s/%s: %w", req.Method, req.ID, req.ExecID, ErrNotFound))
		}
	}
	var err error
	resp = &Response{}
	switch req.Method {
	case MethodState:
	case MethodAttach:
		a = p.subscribe(conn)
		if req.Start {
			if err = s.start(t, p); err != nil {
				p.unsubscribe(a)
				a = nil
			}
		}
	case MethodStart:
		err = s.start(t, p)
	case MethodKill:
		err = s.kill(t, p, req)
	case MethodResizePty:
		err = p.resize(req.Width, req.Height)
	case MethodCloseStdin:
		p.closeStdin()
	case MethodWait:
		s.awaitParked(conn, p)
		resp.Exit = p.state(t.id, t.bundle, 0).Exit
	case MethodPids:
		resp.Pids, err = s.pids(t)
	case MethodReopenLog:
		err = reopenLog(t)
	case MethodPause, MethodResume:
		err = s.pause(t, req.Method == MethodPause)
	case MethodDelete:
		resp.State = s.procState(t, req.ExecID)
		after, err = s.delete(t, p, req.Force)
	default:
		err = fmt.Errorf("unknown method %q", req.Method)
	}
	if err != nil {
		return fail(err)
	}
	if resp.State == nil {
		resp.State = s.procState(t, req.ExecID)
	}
	if req.Method != MethodAttach {
		p = nil
	}
	return resp, p, a, after
}

func (s *server) procState(t *task, execID string) *State {
	p := t.init
	if execID != "" {
		s.mu.Lock()
		p = t.execs[execID]
		s.mu.Unlock()
		if p == nil {
			return nil
		}
	}
	return p.state(t.id, t.bundle, os.Getpid())
}

func (s *server) start(t *task, p *process) error {
	if p != t.init {
		return fmt.Errorf("start %s/%s: %w: exec'd processes start at Exec", t.id, p.id, ErrState)
	}
	p.mu.Lock()
	st := p.status
	p.mu.Unlock()
	if st != StatusCreated {
		return fmt.Errorf("start %s: %w: %s", t.id, ErrState, st)
	}
	if err := s.release(t); err != nil {
		return err
	}
	p.mu.Lock()
	if p.status == StatusCreated {
		p.status, p.started = StatusRunning, time.Now()
	}
	p.mu.Unlock()
	return nil
}

// release lets t's created init run the user's program: through the
// exec fifo when the runtime keeps berth-runtime's (no runtime process
// to start), else through the runtime's start.
func (s *server) release(t *task) error {
	if !s.cfg.FifoStart {
		_, err := s.run(t, [3]*os.File{}, "start", t.id)
		return err
	}
	unlock, err := t.live("start")
	if err != nil {
		return err
	}
	defer unlock()
	if err := execfifo.ReleasePid(execfifo.Path(s.cfg.RuntimeRoot, t.id), t.init.pid); err != nil {
		if errors.Is(err, execfifo.ErrInitExited) {
			return fmt.Errorf("start %s: %w: %w", t.id, ErrState, err)
		}
		return fmt.Errorf("start %s: %w", t.id, err)
	}
	return nil
}

func (s *server) kill(t *task, p *process, req *Request) error {
	sig := syscall.Signal(req.Signal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if p == t.init {
		if !req.All {
			p.mu.Lock()
			pid, started := p.pid, p.started
			p.mu.Unlock()
			awaitHandler(pid, sig, started, p.exited)
		}
		unlock, err := t.live("kill")
		if err != nil {
			return err
		}
		defer unlock()
		return s.runtime(t.config()).kill(t.id, sig, req.All)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil {
		return fmt.Errorf("kill %s/%s: %w: stopped", t.id, p.id, ErrState)
	}
	if err := unix.Kill(p.pid, sig); err != nil {
		return fmt.Errorf("kill %s/%s: %w", t.id, p.id, err)
	}
	return nil
}

func (p *process) resize(w, h uint16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pty == nil {
		return fmt.Errorf("resize: %w: no terminal", ErrState)
	}
	ws := &unix.Winsize{Col: w, Row: h}
	// Not through Fd, which would make the pty blocking.
	rc, err := p.pty.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("resize: %w", err)
	}
	return nil
}

func (s *server) pids(t *task) ([]int, error) {
	out, err := s.run(t, [3]*os.File{}, "ps", "--format", "json", t.id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("pids %s: %w", t.id, err)
	}
	return pids, nil
}

func (s *server) pause(t *task, pause bool) error {
	verb, want, to := "resume", StatusPaused, StatusRunning
	if pause {
		verb, want, to = "pause", StatusRunning, StatusPaused
	}
	p := t.init
	p.mu.Lock()
	st := p.status
	p.mu.Unlock()
	if st != want {
		return fmt.Errorf("%s %s: %w: %s", verb, t.id, ErrState, st)
	}
	if _, err := s.run(t, [3]*os.File{}, verb, t.id); err != nil {
		return err
	}
	p.mu.Lock()
	if p.status == want {
		p.status = to
	}
	p.mu.Unlock()
	return nil
}

// delete removes an exec'd process's record, or the whole task: the
// runtime's container and its state directory; the last task's delete
// also removes the shim's directory and ends the shim.
func (s *server) delete(t *task, p *process, force bool) (func(), error) {
	p.mu.Lock()
	st := p.status
	p.mu.Unlock()
	if p != t.init {
		if st != StatusStopped {
			return nil, fmt.Errorf("delete %s/%s: %w", t.id, p.id, ErrRunning)
		}
		s.mu.Lock()
		delete(t.execs, p.id)
		s.mu.Unlock()
		return nil, nil
	}
	if st != StatusStopped && st != StatusCreated && !force {
		return nil, fmt.Errorf("delete %s: %w", t.id, ErrRunning)
	}
	t.ops.Lock()
	defer t.ops.Unlock()
	if t.gone {
		return nil, fmt.Errorf("delete %s: %w", t.id, ErrNotFound)
	}
	if err := s.runtime(t.config()).delete(t.id, force || st == StatusCreated); err != nil {
		return nil, err
	}
	<-p.exited // the runtime killed it: the reaper has its status
	t.gone = true
	t.log.Close()
	os.RemoveAll(t.stateDir)
	s.mu.Lock()
	delete(s.tasks, t.id)
	s.mu.Unlock()
	return s.closeIfEmpty(), nil
}

// closeIfEmpty, once the shim holds no task and creates none, marks it
// closing, removes its directory and returns what ends it (else nil).
func (s *server) closeIfEmpty() func() {
	s.mu.Lock()
	last := len(s.tasks) == 0 && s.pending == 0
	s.closing = s.closing || last
	s.mu.Unlock()
	if !last {
		return nil
	}
	if s.cfg.ShimDir != "" {
		os.RemoveAll(s.cfg.ShimDir)
	}
	return s.exit
}

// reopenLog opens the task's log file again at its path, while its init
// runs.
func reopenLog(t *task) error {
	select {
	case <-t.init.exited:
		return fmt.Errorf("reopen log: %w: task %s has exited", ErrState, t.id)
	default:
	}
	if t.log == nil {
		return fmt.Errorf("reopen log: %w: task %s has no log", ErrState, t.id)
	}
	return t.log.Reopen()
}
