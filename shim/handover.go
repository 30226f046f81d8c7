package shim

// What a shim hands over when it goes idle, and how resume takes it back
// (idle.go has the when and the idle program).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/shim/logs"
)

// idleState is what a shim hands over: its Config, its tasks and the
// descriptors, by number, that the exec keeps open.
type idleState struct {
	Config   Config     `json:"config"`
	InitExe  int        `json:"init_exe"`
	Listener int        `json:"listener"`
	Tasks    []idleTask `json:"tasks"`
}

// idleTask is one of the shim's containers.
type idleTask struct {
	ID         string       `json:"id"`
	Bundle     string       `json:"bundle"`
	StateDir   string       `json:"state_dir"`
	Log        string       `json:"log"`
	LogOptions logs.Options `json:"log_options"`
	LogFD      int          `json:"log_fd"`
	LogCreated bool         `json:"log_created,omitempty"`
	Pidfd      int          `json:"pidfd"` // the init's, for the idle program's poll only; -1 once it ended
	Waits      []int        `json:"waits,omitempty"`
	Init       idleProcess  `json:"init"`
}

type idleProcess struct {
	Pid      int       `json:"pid"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Terminal bool      `json:"terminal,omitempty"`
	Stdin    int       `json:"stdin"` // -1 when closed or none; a terminal's is its pty
	Outs     []int     `json:"outs,omitempty"`
	EOF      []bool    `json:"eof,omitempty"`
	Pending  [][]byte  `json:"pending,omitempty"` // each output's unterminated last line
	Exit     *Exit     `json:"exit,omitempty"`    // how it ended, if it did: nothing else is held
}

// errBusy says the shim has something to do.
var errBusy = errors.New("busy")

// freeze describes the idle shim: its state with duplicates, kept open
// by an exec, of its descriptors (added to fds), and the ones to poll.
// It returns a nil state when the shim is not idle.
func (s *server) freeze(fds *[]int) (*idleState, []int, error) {
	tasks, waits := s.quietTasks()
	if tasks == nil {
		return nil, nil, nil
	}
	st := &idleState{Config: s.cfg, InitExe: -1}
	st.Config.InitExe = nil
	var err error
	if s.cfg.InitExe != nil {
		st.InitExe, err = passOn(s.cfg.InitExe, fds)
	}
	if err == nil {
		st.Listener, err = passOn(s.ln, fds)
	}
	polled := []int{st.Listener}
	for _, t := range tasks {
		if err != nil {
			break
		}
		var it *idleTask
		if it, err = t.freeze(s.reaper, waits[t.init], fds); err == nil {
			st.Tasks = append(st.Tasks, *it)
			polled = append(polled, it.polled()...)
		}
	}
	if err == nil && len(polled) > maxPolled {
		err = errBusy
	}
	if errors.Is(err, errBusy) {
		return nil, nil, nil
	}
	return st, polled, err
}

// quietTasks returns the shim's tasks and their inits' parked Waits when
// nothing is under way: no Create, no exec'd process, no Wait for one.
func (s *server) quietTasks() ([]*task, map[*process][]*net.UnixConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.pending != 0 || len(s.tasks) == 0 {
		return nil, nil
	}
	tasks := make([]*task, 0, len(s.tasks))
	inits := map[*process]bool{}
	for _, t := range s.tasks {
		if t.gone || len(t.execs) != 0 || t.log == nil {
			return nil, nil
		}
		tasks = append(tasks, t)
		inits[t.init] = true
	}
	waits := map[*process][]*net.UnixConn{}
	for c, p := range s.parked {
		if !inits[p] {
			return nil, nil
		}
		waits[p] = append(waits[p], c)
	}
	return tasks, waits
}

// freeze describes t with its init's parked Waits.
func (t *task) freeze(r *reaper, waits []*net.UnixConn, fds *[]int) (*idleTask, error) {
	lf := t.log.File()
	if lf == nil {
		return nil, errBusy
	}
	ip, err := t.init.freeze(r, fds)
	if err != nil {
		return nil, err
	}
	it := &idleTask{ID: t.id, Bundle: t.bundle, StateDir: t.stateDir, Log: t.log.Path(), LogOptions: t.log.Options(),
		LogCreated: t.logCreated, Pidfd: -1, Init: *ip}
	if it.LogFD, err = passOn(lf, fds); err != nil {
		return nil, err
	}
	if ip.Exit == nil {
		if it.Pidfd, err = pidfdFor(ip.Pid, fds); err != nil {
			return nil, err
		}
	}
	for _, c := range waits {
		if fd, werr := passOn(c, fds); werr == nil {
			it.Waits = append(it.Waits, fd) // a closed one is dropped
		}
	}
	return it, nil
}

// polled are the task's descriptors the idle program waits on: its
// init's pidfd, the outputs not yet ended and the parked Waits.
func (it *idleTask) polled() []int {
	var fds []int
	if it.Pidfd >= 0 {
		fds = append(fds, it.Pidfd)
	}
	for i, fd := range it.Init.Outs {
		if !it.Init.EOF[i] {
			fds = append(fds, fd)
		}
	}
	return append(fds, it.Waits...)
}

// freeze describes the init p: one that ended by its exit alone; one
// that is created, runs or is paused, with no client attached and its
// end not yet reaped, with its stdio. Else it returns errBusy.
func (p *process) freeze(r *reaper, fds *[]int) (*idleProcess, error) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	ip := &idleProcess{Pid: p.pid, Status: p.status, Started: p.started, Terminal: p.terminal, Stdin: -1}
	if p.exit != nil { // finish has closed its stdio and dropped its clients
		ip.Exit = p.exit
		return ip, nil
	}
	if p.pid <= 0 || len(p.subs) != 0 || p.status == StatusStopped || len(p.streams) != len(p.outs) || !r.waitsFor(p.pid) {
		return nil, errBusy
	}
	ip.EOF = append([]bool(nil), p.eof...)
	var err error
	for i, f := range p.outs {
		var fd int
		if fd, err = passOn(f, fds); err != nil {
			return nil, err
		}
		ip.Outs = append(ip.Outs, fd)
		var pending []byte
		if p.streams[i] != nil {
			pending = p.streams[i].Pending()
		}
		ip.Pending = append(ip.Pending, pending)
	}
	switch {
	case p.stdin == nil:
	case p.terminal:
		ip.Stdin = ip.Outs[0]
	default:
		c, ok := p.stdin.(syscall.Conn)
		if !ok {
			return nil, errBusy
		}
		if ip.Stdin, err = passOn(c, fds); err != nil {
			return nil, err
		}
	}
	return ip, nil
}

// passOn duplicates c's descriptor as one an exec keeps open (no
// close-on-exec), numbered from firstPassedFD, and adds it to fds.
func passOn(c syscall.Conn, fds *[]int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd, derr := -1, error(nil)
	if err = rc.Control(func(fd uintptr) { nfd, derr = keepOnExec(int(fd), fds) }); err == nil {
		err = derr
	}
	return nfd, err
}

// keepOnExec duplicates fd as one an exec keeps open, numbered from
// firstPassedFD, and adds it to fds.
func keepOnExec(fd int, fds *[]int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD, firstPassedFD)
	if err != nil {
		return -1, fmt.Errorf("hand off: %w", err)
	}
	*fds = append(*fds, nfd)
	return nfd, nil
}

// pidfdFor opens a pidfd for pid that an exec keeps open, added to fds.
func pidfdFor(pid int, fds *[]int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("hand off: pidfd: %w", err)
	}
	defer unix.Close(fd)
	return keepOnExec(fd, fds)
}

// readIdleState reads the state from f, the handed-over descriptor,
// and closes it.
func readIdleState(f *os.File) (*idleState, error) {
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, pollBytes, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var st idleState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	return &st, nil
}

// adopt takes the handed-over descriptor fd back (closed on exec again).
func adopt(fd int, name string) *os.File {
	if fd < 0 {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name)
}

// resume makes the server st describes, its containers' outputs copied,
// their inits' ends and their parked Waits awaited again.
func resume(st *idleState) (*server, error) {
	if err := st.check(); err != nil {
		return nil, err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("resume: subreaper: %w", err)
	}
	c := st.Config
	c.InitExe = adopt(st.InitExe, "berth-init")
	s := newServer(c)
	s.ln = adopt(st.Listener, c.SocketPath())
	for i := range st.Tasks {
		if err := s.resumeTask(&st.Tasks[i]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// errMalformed says a handed-over state is not one a shim wrote.
var errMalformed = errors.New("resume: malformed state")

// check refuses a state that names no socket, or a task without a log,
// an ID or consistent outputs: resume then ends with an error rather
// than serving a part of it.
func (st *idleState) check() error {
	if st.Listener < 0 || len(st.Tasks) == 0 {
		return errMalformed
	}
	for i := range st.Tasks {
		it := &st.Tasks[i]
		ip := &it.Init
		if it.ID == "" || it.LogFD < 0 || (ip.Exit == nil && (ip.Pid <= 0 || len(ip.EOF) != len(ip.Outs) ||
			len(ip.Pending) != len(ip.Outs) || len(ip.Outs) > len(streamNames) || slices.ContainsFunc(ip.Outs, negative))) {
			return errMalformed
		}
	}
	return nil
}

func negative(fd int) bool { return fd < 0 }

// resumeTask adds the task it describes.
func (s *server) resumeTask(it *idleTask) error {
	if it.Pidfd >= 0 {
		unix.Close(it.Pidfd)
	}
	lw, err := logs.Adopt(adopt(it.LogFD, it.Log), it.Log, it.LogOptions)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	p := resumeProcess(&it.Init, lw)
	t := &task{id: it.ID, bundle: it.Bundle, stateDir: it.StateDir, init: p, log: lw, execs: map[string]*process{}, logCreated: it.LogCreated}
	s.tasks[it.ID] = t
	if p.exit == nil {
		p.startCopies(&s.ev)
		go func() { p.finish(<-s.reaper.watch(p.pid), it.StateDir) }()
	}
	for _, fd := range it.Waits {
		if conn := fileConn(fd); conn != nil {
			s.ev.busy.Add(1)
			go s.resumeWait(conn, t)
		}
	}
	return nil
}

// resumeProcess makes the init ip describes, logging to lw.
func resumeProcess(ip *idleProcess, lw *logs.Writer) *process {
	p := newProcess("", ip.Terminal)
	p.pid, p.status, p.started = ip.Pid, ip.Status, ip.Started
	if ip.Exit != nil {
		p.exit, p.status = ip.Exit, StatusStopped
		close(p.exited)
		return p
	}
	for _, fd := range ip.Outs {
		p.outs = append(p.outs, adopt(fd, "output"))
	}
	switch {
	case ip.Terminal && len(p.outs) == 1:
		p.setTerminal(p.outs[0])
		if ip.Stdin < 0 {
			p.stdin = nil
		}
	case ip.Stdin >= 0:
		p.stdin = adopt(ip.Stdin, "stdin")
	}
	p.eof = ip.EOF
	for i := range p.outs {
		p.streams = append(p.streams, lw.ResumeStream(streamNames[i], ip.Pending[i]))
	}
	return p
}

// resumeWait answers a Wait for t's init handed over parked, as handle
// would have. A client gone meanwhile is noticed and dropped.
func (s *server) resumeWait(conn *net.UnixConn, t *task) {
	defer s.ev.busy.Add(-1)
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:]) // only a hang-up (or a broken client) ends it
		conn.Close()
	}()
	p := t.init
	s.awaitParked(conn, p)
	_ = writeMsg(conn, &Response{Exit: p.state(t.id, t.bundle, 0).Exit, State: s.procState(t, "")})
	conn.Close()
}
