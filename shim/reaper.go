package shim

import (
	"os"
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper reaps every child of the shim, a child subreaper: the runtime
// commands it runs and the container processes reparented to it. Each
// child it starts or watches has a pidfd, polled by the runtime's
// network poller; when one ends the reaper collects every ended child
// (wait4(-1)) and hands each status to whoever waits for that pid.
// Statuses nobody waits for yet are kept until someone does (a detached
// exec's process can end before its pid file is read). An ended child
// nobody started or watched is collected at the next such event.
//
// It uses no os/signal: a SIGCHLD subscription costs the process a
// thread of its own for good (the runtime's signal-mask thread) and
// about 70 kB resident per shim (docs/benchmarks.md).
type reaper struct {
	ev        *events // each reaping is an event
	mu        sync.Mutex
	waiters   map[int]chan unix.WaitStatus
	unclaimed map[int]unix.WaitStatus
}

func newReaper(ev *events) *reaper {
	return &reaper{ev: ev, waiters: map[int]chan unix.WaitStatus{}, unclaimed: map[int]unix.WaitStatus{}}
}

// reap collects every ended child; r.mu is held.
func (r *reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if ws.Stopped() || ws.Continued() {
			continue
		}
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
			continue
		}
		r.unclaimed[pid] = ws
	}
}

// start starts cmd and returns a channel that receives its status.
func (r *reaper) start(cmd *exec.Cmd) (<-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	pid := cmd.Process.Pid
	r.waiters[pid] = ch
	// An unreaped child always has a pidfd, even once it has ended.
	if err := r.notify(pid); err != nil {
		delete(r.waiters, pid)
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return nil, err
	}
	return ch, nil
}

// watch returns a channel that receives pid's status, a process that is
// (or was) reparented to the shim.
func (r *reaper) watch(pid int) <-chan unix.WaitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan unix.WaitStatus, 1)
	if ws, ok := r.unclaimed[pid]; ok {
		delete(r.unclaimed, pid)
		ch <- ws
		return ch
	}
	r.waiters[pid] = ch
	// It may have ended before the shim became its parent's heir (and
	// been reaped by someone else), or may not be the shim's child at
	// all: then nobody will reap it here.
	if r.notify(pid) != nil || unix.Kill(pid, 0) == unix.ESRCH {
		delete(r.waiters, pid)
		ch <- unix.WaitStatus(255 << 8)
	}
	return ch
}

// notify makes the reaper collect children once pid has ended.
func (r *reaper) notify(pid int) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return os.NewSyscallError("pidfd_open", err)
	}
	go r.await(os.NewFile(uintptr(fd), "pidfd"))
	return nil
}

// await waits, without a thread of its own, for the pidfd f to report
// its process's end, then reaps.
func (r *reaper) await(f *os.File) {
	awaitPidfd(f)
	f.Close()
	r.ev.consume(func() {
		r.mu.Lock()
		r.reap()
		r.mu.Unlock()
	})
}

// waitsFor reports whether pid's end is still awaited: it is neither
// reaped nor being handed on.
func (r *reaper) waitsFor(pid int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waiters[pid] != nil
}

// awaitPidfd returns once the process of pidfd f (opened non-blocking)
// has ended, waiting in the runtime's poller, without a thread of its own.
func awaitPidfd(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		// false: not ended yet, wait in the poller until readable.
		if rc.Read(func(fd uintptr) bool { return pidfdReady(int(fd), 0) }) != nil {
			// Not pollable: wait in a blocking poll instead.
			_ = rc.Control(func(fd uintptr) { pidfdReady(int(fd), -1) })
		}
	}
}

// reapWhenDone reaps the started cmd once it ends. It waits on the
// process's pidfd in the poller: a plain cmd.Wait blocks in waitid and
// holds an OS thread for the process's whole life, which in berthd is
// one thread per shim.
func reapWhenDone(cmd *exec.Cmd) {
	// Only the process is kept: the Cmd (its environment and arguments,
	// a few kB) need not live as long as the shim. Its stdio is nil, so
	// there is nothing of its own left to close.
	p := cmd.Process
	fd, err := unix.PidfdOpen(p.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		go p.Wait()
		return
	}
	go func() {
		f := os.NewFile(uintptr(fd), "pidfd")
		awaitPidfd(f)
		f.Close()
		_, _ = p.Wait() // at once: it has ended
	}()
}

// pidfdReady reports whether the pidfd's process has ended, waiting at
// most timeout milliseconds (-1: for ever). A failing poll counts as
// ended: the reaper then looks rather than waiting for ever.
func pidfdReady(fd, timeout int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, timeout)
		if err == unix.EINTR && timeout != 0 {
			continue
		}
		return err != unix.EINTR && (err != nil || n > 0)
	}
}
