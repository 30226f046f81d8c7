package shim

// A shim holding one container that has had nothing to do for
// Config.IdleAfter hands its descriptors to its idle program: it
// executes its own file as `berth-shim idle`, which on amd64 is a few
// instructions entered without the Go runtime (cmd/berth-shim's
// entry_amd64.s), waits in poll(2) on the shim's socket, the container's
// output and its init's pidfd, and when any of them is ready executes
// `berth-shim resume`, which takes the descriptors back here and handles
// what woke it. The process, its pid, its children (the container's init
// stays its child) and every descriptor stay the same throughout; only
// the memory of a Go runtime is gone while the container sleeps, which
// is most of a supervisor's life (docs/shim.md, docs/benchmarks.md).
//
// The hand-off takes place only between events: taking an event in (a
// read of the container's output with what is done with it, an accepted
// connection, a reaping) holds events.gate shared, the hand-off holds it
// exclusively, and whatever arrives meanwhile stays in the kernel, where
// the idle program's poll sees it.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/shim/logs"
)

// DefaultIdleAfter is how long a shim waits with nothing to do before it
// hands its descriptors to its idle program.
const DefaultIdleAfter = 10 * time.Second

const (
	// stateFD is the descriptor the idle program and resume read the
	// handed-over state from: the poll set's struct pollfd entries in
	// the first pollBytes, the idleState's JSON after them. A shim keeps
	// a placeholder there (reserveStateFD) so that it is always free.
	stateFD   = 3
	pollBytes = 512
	maxPolled = pollBytes / 8
	// selfExe is the shim's own file, whatever happened to its path.
	selfExe = "/proc/self/exe"
)

// events orders the shim's events against a hand-off.
type events struct {
	gate sync.RWMutex  // shared while an event is taken in; the hand-off's exclusively
	stir atomic.Uint64 // counts events: the idle clock starts again when it moves
	busy atomic.Int64  // connections being served (a parked Wait is not)
}

// consume runs f, which takes an event in and handles it, as one event.
func (e *events) consume(f func()) {
	e.gate.RLock()
	defer e.gate.RUnlock()
	e.stir.Add(1)
	f()
}

func newServer(c Config) *server {
	s := &server{cfg: c, tasks: map[string]*task{}, parked: map[*net.UnixConn]*process{}, done: make(chan struct{})}
	s.reaper = newReaper(&s.ev)
	return s
}

// park marks conn's Wait on p as blocked: it does not keep the shim from
// handing off, and it is handed over with the connection.
func (s *server) park(conn *net.UnixConn, p *process) {
	s.mu.Lock()
	s.parked[conn] = p
	s.mu.Unlock()
	s.ev.busy.Add(-1)
}

func (s *server) unpark(conn *net.UnixConn) {
	s.ev.busy.Add(1)
	s.mu.Lock()
	delete(s.parked, conn)
	s.mu.Unlock()
}

// idle hands off once nothing happened for the idle time: no event, no
// connection served. A shim of several containers (ShimDir) does not.
func (s *server) idle() {
	after := s.cfg.IdleAfter
	if after == 0 {
		after = DefaultIdleAfter
	}
	if after < 0 || s.cfg.ShimDir != "" {
		return
	}
	t := time.NewTimer(after)
	defer t.Stop()
	last := s.ev.stir.Load()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if s.ev.stir.Load() == last && s.ev.busy.Load() == 0 {
			if err := s.handOff(); err != nil {
				return // it cannot: the shim stays as it is
			}
		}
		last = s.ev.stir.Load()
		t.Reset(after)
	}
}

// idleState is what a shim hands over: its Config, its one container's
// init and the descriptors, by number, that the exec keeps open.
type idleState struct {
	Config     Config      `json:"config"`
	InitExe    int         `json:"init_exe"`
	Listener   int         `json:"listener"`
	Log        int         `json:"log"`
	LogCreated bool        `json:"log_created,omitempty"`
	Pidfd      int         `json:"pidfd"` // the init's, for the idle program's poll only
	Waits      []int       `json:"waits,omitempty"`
	Init       idleProcess `json:"init"`
}

type idleProcess struct {
	Pid      int       `json:"pid"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Terminal bool      `json:"terminal,omitempty"`
	Stdin    int       `json:"stdin"` // -1 when closed or none; a terminal's is its pty
	Outs     []int     `json:"outs"`
	EOF      []bool    `json:"eof"`
	Pending  [][]byte  `json:"pending"` // each output's unterminated last line
}

// handOff executes the idle program with the shim's descriptors, if the
// shim has nothing to do. It returns nil when it did not try (an event
// came first, or there is something to do), an error when the exec
// failed.
func (s *server) handOff() error {
	if !s.ev.gate.TryLock() {
		return nil
	}
	defer s.ev.gate.Unlock()
	if s.ev.busy.Load() != 0 {
		return nil
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	st, polled, err := s.freeze(&fds)
	if err != nil || st == nil {
		return err
	}
	return execIdle(st, polled)
}

// errBusy says the shim has something to do.
var errBusy = errors.New("busy")

// freeze describes the idle shim: its state with duplicates, kept open
// by an exec, of its descriptors (added to fds), and the ones to poll.
// It returns a nil state when the shim is not idle.
func (s *server) freeze(fds *[]int) (*idleState, []int, error) {
	t, waits := s.soleTask()
	if t == nil {
		return nil, nil, nil
	}
	st := &idleState{Config: s.cfg, InitExe: -1, LogCreated: t.logCreated}
	st.Config.InitExe = nil
	ip, err := t.init.freeze(s.reaper, fds)
	if err != nil {
		if errors.Is(err, errBusy) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	st.Init = *ip
	pass := func(c syscall.Conn) int {
		if err == nil {
			var fd int
			fd, err = passOn(c, fds)
			return fd
		}
		return -1
	}
	if s.cfg.InitExe != nil {
		st.InitExe = pass(s.cfg.InitExe)
	}
	st.Listener = pass(s.ln)
	if lf := t.log.File(); lf != nil {
		st.Log = pass(lf)
	} else {
		err = errBusy
	}
	for _, c := range waits {
		if fd, werr := passOn(c, fds); werr == nil {
			st.Waits = append(st.Waits, fd) // a closed one is dropped
		}
	}
	if err == nil {
		st.Pidfd, err = pidfdFor(t.init.pid, fds)
	}
	polled := []int{st.Listener, st.Pidfd}
	for i, fd := range st.Init.Outs {
		if !st.Init.EOF[i] {
			polled = append(polled, fd)
		}
	}
	polled = append(polled, st.Waits...)
	if err == nil && len(polled) > maxPolled {
		err = errBusy
	}
	if errors.Is(err, errBusy) {
		return nil, nil, nil
	}
	return st, polled, err
}

// soleTask returns the shim's one task and its parked Waits, if it has
// one task, no exec'd process, and nothing under way.
func (s *server) soleTask() (*task, []*net.UnixConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.pending != 0 || len(s.tasks) != 1 || s.cfg.ShimDir != "" {
		return nil, nil
	}
	var t *task
	for _, one := range s.tasks {
		t = one
	}
	if t.gone || len(t.execs) != 0 || t.log == nil {
		return nil, nil
	}
	var waits []*net.UnixConn
	for c, p := range s.parked {
		if p != t.init {
			return nil, nil
		}
		waits = append(waits, c)
	}
	return t, waits
}

// freeze describes the init p while it is created, runs or is paused,
// with no client attached and its end not yet reaped, else returns
// errBusy.
func (p *process) freeze(r *reaper, fds *[]int) (*idleProcess, error) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil || p.pid <= 0 || len(p.subs) != 0 || p.status == StatusStopped ||
		len(p.streams) != len(p.outs) || !r.waitsFor(p.pid) {
		return nil, errBusy
	}
	ip := &idleProcess{Pid: p.pid, Status: p.status, Started: p.started, Terminal: p.terminal, Stdin: -1, EOF: append([]bool(nil), p.eof...)}
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
// close-on-exec), numbered from 10, and adds it to fds.
func passOn(c syscall.Conn, fds *[]int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd, derr := -1, error(nil)
	if err = rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD, 10) }); err == nil {
		err = derr
	}
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
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD, 10)
	if err != nil {
		return -1, fmt.Errorf("hand off: %w", err)
	}
	*fds = append(*fds, nfd)
	return nfd, nil
}

// execIdle puts st and the poll set on stateFD and executes the idle
// program. It returns only if the exec failed.
func execIdle(st *idleState, polled []int) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("hand off: %w", err)
	}
	buf := make([]byte, pollBytes, pollBytes+len(b))
	for i, fd := range polled {
		binary.NativeEndian.PutUint32(buf[8*i:], uint32(fd))
		binary.NativeEndian.PutUint16(buf[8*i+4:], unix.POLLIN)
	}
	buf = append(buf, b...)
	mfd, err := unix.MemfdCreate("berth-shim-state", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("hand off: %w", err)
	}
	defer unix.Close(mfd)
	if _, err := unix.Pwrite(mfd, buf, 0); err != nil {
		return fmt.Errorf("hand off: %w", err)
	}
	if err := unix.Dup3(mfd, stateFD, 0); err != nil {
		return fmt.Errorf("hand off: %w", err)
	}
	args := []string{"berth-shim", "idle", "--id", st.Config.ID, "--state", st.Config.StateDir}
	err = unix.Exec(selfExe, args, os.Environ())
	reserveStateFD()
	return fmt.Errorf("hand off: exec: %w", err)
}

// reserveStateFD keeps stateFD taken by a placeholder (/dev/null, closed
// on exec), so that no descriptor the shim needs is ever put there.
func reserveStateFD() {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	if fd != stateFD {
		_ = unix.Dup3(fd, stateFD, unix.O_CLOEXEC)
		unix.Close(fd)
	}
}

// setName names the process berth-shim again: an exec of /proc/self/exe
// names it "exe".
func setName() {
	name := []byte("berth-shim\x00")
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
}

// idleMain is the idle program in Go, for builds without the assembly
// entry (cmd/berth-shim/entry_amd64.s does the same without the Go
// runtime): it waits until a descriptor of the poll set is ready, then
// resumes.
func idleMain(args []string) int {
	setName()
	buf := make([]byte, pollBytes)
	n, _ := unix.Pread(stateFD, buf, 0)
	var polled []unix.PollFd
	for i := 0; i+8 <= n; i += 8 {
		polled = append(polled, unix.PollFd{Fd: int32(binary.NativeEndian.Uint32(buf[i:])), Events: int16(binary.NativeEndian.Uint16(buf[i+4:]))})
	}
	for len(polled) > 0 {
		if _, err := unix.Poll(polled, -1); err != unix.EINTR {
			break
		}
	}
	argv := append([]string{"berth-shim", "resume"}, args...)
	for {
		_ = unix.Exec(selfExe, argv, os.Environ())
		time.Sleep(time.Second) // the descriptors must not be dropped
	}
}

// resumeMain is `berth-shim resume`: the shim taking its descriptors back
// from the idle program.
func resumeMain() int {
	setName()
	debug.SetMemoryLimit(8 << 20)
	st, err := readIdleState()
	reserveStateFD()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		return 1
	}
	s, err := resume(st)
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		return 1
	}
	s.serve()
	return 0
}

func readIdleState() (*idleState, error) {
	f := os.NewFile(stateFD, "state")
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

// resume makes the server st describes, its container's output copied,
// its init's end and its parked Waits awaited again.
func resume(st *idleState) (*server, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("resume: subreaper: %w", err)
	}
	unix.Close(st.Pidfd)
	c := st.Config
	c.InitExe = adopt(st.InitExe, "berth-init")
	s := newServer(c)
	s.ln = adopt(st.Listener, c.SocketPath())
	lw, err := logs.Adopt(adopt(st.Log, c.Log), c.Log, logs.Options{MaxSize: c.LogMaxSize, MaxFiles: c.LogMaxFiles})
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	ip := &st.Init
	p := newProcess("", ip.Terminal)
	p.pid, p.status, p.started = ip.Pid, ip.Status, ip.Started
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
	if len(p.eof) != len(p.outs) || len(ip.Pending) != len(p.outs) {
		return nil, fmt.Errorf("resume: malformed state")
	}
	t := &task{id: c.ID, bundle: c.Bundle, stateDir: c.StateDir, init: p, log: lw, execs: map[string]*process{}, logCreated: st.LogCreated}
	s.tasks[c.ID] = t
	p.startCopies(&s.ev)
	go func() { p.finish(<-s.reaper.watch(p.pid), c.StateDir) }()
	for _, fd := range st.Waits {
		if conn := fileConn(fd); conn != nil {
			s.ev.busy.Add(1)
			go s.resumeWait(conn, t)
		}
	}
	return s, nil
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
	s.park(conn, p)
	<-p.exited
	s.unpark(conn)
	_ = writeMsg(conn, &Response{Exit: p.state(t.id, t.bundle, 0).Exit, State: s.procState(t, "")})
	conn.Close()
}
