package shim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/shim/logs"
)

// process is a task's init or one of its exec'd processes: its stdio,
// its attached clients and how it ended.
type process struct {
	id       string // exec ID; empty for the init
	terminal bool

	mu      sync.Mutex
	inMu    sync.Mutex // guards stdin: a write may block on a full pipe
	pid     int
	status  string
	started time.Time      // when the init was started (awaitHandler)
	stdin   io.WriteCloser // the pipe's write end or the pty master; nil once closed
	pty     *os.File
	outs    []*os.File           // pipe read ends or the pty master, closed once drained
	streams []*logs.StreamWriter // per output: its log stream (nil: not logged)
	eof     []bool               // per output: its end was read
	subs    map[*attached]struct{}
	exit    *Exit
	exited  chan struct{} // closed once exit is set and output drained
	io      sync.WaitGroup
}

func newProcess(id string, terminal bool) *process {
	return &process{id: id, terminal: terminal, status: StatusCreated, subs: map[*attached]struct{}{}, exited: make(chan struct{})}
}

// stdio makes the process's pipes and returns the ends the runtime hands
// to it (to be closed by the caller once the runtime ran). Without
// withStdin its stdin is /dev/null. A terminal's stdio comes later, from
// the console socket.
func (p *process) stdio(withStdin bool) (child [3]*os.File, err error) {
	if p.terminal {
		return child, nil
	}
	defer func() {
		if err != nil {
			closeAll(child[:])
			p.closeIO()
		}
	}()
	if withStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return child, fmt.Errorf("stdin pipe: %w", err)
		}
		child[0], p.stdin = r, w
	}
	for i := 1; i <= 2; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return child, fmt.Errorf("output pipe: %w", err)
		}
		child[i] = w
		p.outs = append(p.outs, r)
	}
	return child, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// closeIO closes everything the shim holds of the process's stdio.
func (p *process) closeIO() {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.stdin != nil && p.stdin != io.WriteCloser(p.pty) {
		p.stdin.Close()
	}
	p.stdin = nil
	closeAll(p.outs)
	p.outs = nil
}

// streamNames are the log's names of a process's outputs, in order.
var streamNames = []string{logs.Stdout, logs.Stderr}

// copyOutput starts one goroutine per output: each writes what it reads
// to the log (the init's only) and to every attached client.
func (p *process) copyOutput(lw *logs.Writer, ev *events) {
	p.streams = make([]*logs.StreamWriter, len(p.outs))
	p.eof = make([]bool, len(p.outs))
	if lw != nil {
		for i := range p.outs {
			p.streams[i] = lw.Stream(streamNames[i])
		}
	}
	p.startCopies(ev)
}

// startCopies starts copyFrom for each output whose end was not read.
func (p *process) startCopies(ev *events) {
	for i, f := range p.outs {
		if !p.eof[i] {
			p.io.Add(1)
			go p.copyFrom(ev, i, f)
		}
	}
}

// copyFrom copies output i until its end or until it is closed. Each
// read and what is done with what it read are one event (ev.consume):
// a hand-off to the idle program never comes between them, so nothing
// read is lost and nothing unread is taken.
func (p *process) copyFrom(ev *events, i int, f *os.File) {
	defer p.io.Done()
	sw, kind := p.streams[i], FrameStdout+byte(i)
	buf := make([]byte, 8192)
	ended := false
	rc, err := f.SyscallConn()
	for err == nil && !ended {
		err = rc.Read(func(fd uintptr) bool {
			ready := true
			ev.consume(func() {
				n, rerr := readRetry(int(fd), buf)
				if rerr == unix.EAGAIN {
					ready = false // wait in the poller
					return
				}
				if n > 0 {
					if sw != nil {
						// A full disk loses log lines, not the container.
						_, _ = sw.Write(buf[:n])
					}
					p.broadcast(kind, buf[:n])
					return
				}
				// EOF, or EIO once a pty's last slave closes.
				ended = true
				p.mu.Lock()
				p.eof[i] = true
				p.mu.Unlock()
			})
			return ready
		})
	}
	if sw != nil {
		_ = sw.Flush()
	}
}

// readRetry reads fd once, again if interrupted.
func readRetry(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func (p *process) broadcast(kind byte, b []byte) {
	p.mu.Lock()
	subs := make([]*attached, 0, len(p.subs))
	for a := range p.subs {
		subs = append(subs, a)
	}
	p.mu.Unlock()
	// Sent without p.mu: a client just subscribed is held until its
	// reply is out, and State must not wait for that.
	for _, a := range subs {
		if err := a.send(kind, b); err != nil {
			p.mu.Lock()
			delete(p.subs, a)
			p.mu.Unlock()
			a.conn.Close()
		}
	}
}

// ioGrace is how long the shim waits, after a process ended, for the
// last holders of its output (its own children) to close it.
const ioGrace = 2 * time.Second

// finish records how the process ended once the reaper has its status:
// the init's exit.json first, then, once its output is drained, the
// waiters and attached clients.
func (p *process) finish(ws unix.WaitStatus, stateDir string) {
	e := &Exit{Time: time.Now().UTC(), Code: 255, Reason: ReasonExited}
	switch {
	case ws.Signaled():
		e.Signal, e.Code, e.Reason = int(ws.Signal()), 128+int(ws.Signal()), ReasonSignaled
	case ws.Exited():
		e.Code = ws.ExitStatus()
	}
	if p.id == "" && stateDir != "" {
		_ = writeExit(stateDir, e) // best effort: Wait still answers
	}
	drained := make(chan struct{})
	go func() { p.io.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(ioGrace):
	}
	p.mu.Lock()
	p.closeIO()
	if p.pty != nil {
		p.pty.Close()
		p.pty = nil
	}
	p.exit, p.status = e, StatusStopped
	subs := p.subs
	p.subs = map[*attached]struct{}{}
	close(p.exited)
	p.mu.Unlock()
	// Sent without p.mu: a client just subscribed holds its own lock
	// until its reply is out, and that reply reads the process's state.
	b, _ := json.Marshal(e)
	for a := range subs {
		_ = a.send(FrameExit, b) // a gone client misses nothing else
		a.conn.Close()
	}
}

// ExitFile is the name of the init's exit record in the state directory.
const ExitFile = "exit.json"

// writeExit records e as the state directory's exit.json, atomically.
func writeExit(stateDir string, e *Exit) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode exit: %w", err)
	}
	return writeFileAtomic(filepath.Join(stateDir, ExitFile), b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// attached is a client connection streaming a process's stdio.
type attached struct {
	mu   sync.Mutex
	conn net.Conn
}

// sendTimeout bounds a write to an attached client: a client that stops
// reading is dropped rather than blocking the container's output.
const sendTimeout = 10 * time.Second

func (a *attached) send(kind byte, b []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return err
	}
	return writeFrame(a.conn, kind, b)
}

// subscribe adds a client connection to the process's output. The
// client is returned locked: nothing is sent to it until the caller has
// sent the reply and unlocks it. It is nil when the process has ended.
func (p *process) subscribe(conn net.Conn) *attached {
	a := &attached{conn: conn}
	a.mu.Lock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exit != nil {
		a.mu.Unlock()
		return nil
	}
	p.subs[a] = struct{}{}
	return a
}

// unsubscribe drops a client subscribe returned, before its reply.
func (p *process) unsubscribe(a *attached) {
	if a == nil {
		return
	}
	p.mu.Lock()
	delete(p.subs, a)
	p.mu.Unlock()
	a.mu.Unlock()
}

// feed writes what the client sends to the process's stdin until the
// client goes away, then drops it.
func (p *process) feed(a *attached) {
	buf := make([]byte, 4096)
	for {
		kind, b, err := readFrame(a.conn, buf)
		if err != nil {
			break
		}
		switch kind {
		case FrameStdin:
			p.inMu.Lock()
			if p.stdin != nil {
				// A process that closed its stdin does not want the rest.
				_, _ = p.stdin.Write(b)
			}
			p.inMu.Unlock()
		case FrameStdinEOF:
			p.closeStdin()
		}
	}
	p.mu.Lock()
	delete(p.subs, a)
	p.mu.Unlock()
	a.conn.Close()
}

// exitFrame is the Exit frame for an ended process.
func (p *process) exitFrame() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(p.exit)
	return b
}

// closeStdin closes the process's stdin: the pipe's write end, or for a
// terminal an end-of-file character.
func (p *process) closeStdin() {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.stdin == nil {
		return
	}
	if p.pty != nil {
		_, _ = p.pty.Write([]byte{4})
		return
	}
	p.stdin.Close()
	p.stdin = nil
}

func (p *process) state(id, bundle string, shimPid int) *State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &State{ID: id, ExecID: p.id, Pid: p.pid, Status: p.status, Bundle: bundle, Terminal: p.terminal, Exit: p.exit, ShimPid: shimPid}
}
