package shim

// A shim that has had nothing to do for Config.IdleAfter hands its
// descriptors to its idle program: it executes its own file as
// `berth-shim idle`, which on amd64 is a few instructions entered without
// the Go runtime (cmd/berth-shim's entry_amd64.s), waits in poll(2) on
// the shim's socket, its containers' outputs and their inits' pidfds,
// and when any of them is ready executes `berth-shim resume`, which takes
// the descriptors back here and handles what woke it. The process, its
// pid, its children (each container's init stays its child) and every
// descriptor stay the same throughout; only the memory of a Go runtime
// is gone while the containers sleep, which is most of a supervisor's
// life (docs/shim.md, docs/benchmarks.md).
//
// The hand-off takes place only between events: taking an event in (a
// read of the container's output with what is done with it, an accepted
// connection, a reaping) holds events.gate shared, the hand-off holds it
// exclusively, and whatever arrives meanwhile stays in the kernel, where
// the idle program's poll sees it.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultIdleAfter is how long a shim waits with nothing to do before it
// hands its descriptors to its idle program.
const DefaultIdleAfter = 10 * time.Second

const (
	// stateFD is the descriptor the idle program and resume read the
	// handed-over state from: the poll set's struct pollfd entries (the
	// unused ones -1) in the first pollBytes, the idleState's JSON after
	// them. A shim keeps a placeholder there (reserveStateFD) so that it
	// is always free.
	stateFD   = 3
	pollBytes = 512
	maxPolled = pollBytes / 8
	// firstPassedFD is the lowest number of a descriptor handed over
	// (the idle program checks it too): below it are stdio, stateFD and
	// a shim's inherited ones.
	firstPassedFD = 10
	// stateName names the memfd holding the state.
	stateName = "berth-shim-state"
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

// awaitParked blocks conn's Wait until p has ended, parked meanwhile:
// it does not keep the shim from handing off, and it is handed over
// with the connection.
func (s *server) awaitParked(conn *net.UnixConn, p *process) {
	s.mu.Lock()
	s.parked[conn] = p
	s.mu.Unlock()
	s.ev.busy.Add(-1)
	<-p.exited
	s.ev.busy.Add(1)
	s.mu.Lock()
	delete(s.parked, conn)
	s.mu.Unlock()
}

// idleChecks is how many times per idle time the shim looks whether
// anything happened: it goes idle between one and 1+1/idleChecks idle
// times after its last event.
const idleChecks = 4

// idle hands off once nothing happened for the idle time: no event, no
// connection served.
func (s *server) idle() {
	after := s.cfg.IdleAfter
	if after == 0 {
		after = DefaultIdleAfter
	}
	if after < 0 {
		return
	}
	t := time.NewTicker(after / idleChecks)
	defer t.Stop()
	last, quiet := s.ev.stir.Load(), 0
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		now := s.ev.stir.Load()
		if now != last || s.ev.busy.Load() != 0 {
			last, quiet = now, 0
			continue
		}
		if quiet++; quiet < idleChecks {
			continue
		}
		if err := s.handOff(); err != nil {
			return // it cannot: the shim stays as it is
		}
		last, quiet = s.ev.stir.Load(), 0
	}
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

// execIdle puts st and the poll set on stateFD and executes the idle
// program. It returns only if the exec failed.
func execIdle(st *idleState, polled []int) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("hand off: %w", err)
	}
	buf := make([]byte, pollBytes, pollBytes+len(b))
	for i := range maxPolled {
		fd, events := -1, int16(0) // unused: poll skips it
		if i < len(polled) {
			fd, events = polled[i], unix.POLLIN
		}
		binary.NativeEndian.PutUint32(buf[8*i:], uint32(int32(fd)))
		binary.NativeEndian.PutUint16(buf[8*i+4:], uint16(events))
	}
	buf = append(buf, b...)
	mfd, err := unix.MemfdCreate(stateName, unix.MFD_CLOEXEC)
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
		fd, events := int32(binary.NativeEndian.Uint32(buf[i:])), int16(binary.NativeEndian.Uint16(buf[i+4:]))
		if fd == -1 && i > 0 {
			continue // unused
		}
		if fd < firstPassedFD || events != unix.POLLIN {
			polled = nil // no shim's poll set: resume says so
			break
		}
		polled = append(polled, unix.PollFd{Fd: fd, Events: events})
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
	limitHeap()
	if l, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(stateFD)); !strings.HasPrefix(l, "/memfd:"+stateName+" ") {
		fmt.Fprintln(os.Stderr, "berth-shim: resume runs only as an idle shim's own (its state on descriptor 3)")
		return 2
	}
	st, err := readIdleState(os.NewFile(stateFD, "state"))
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
