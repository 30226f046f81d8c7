package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/internal/phase"
	"github.com/berth-dev/berth/runtime/execfifo"
	"github.com/berth-dev/berth/runtime/hooks"
)

// ProcessOf returns the process a container was created with: what exec
// starts from when given only a command line. It reads a small file kept
// at create rather than the whole spec.
func (r *Runtime) ProcessOf(id string) (*specs.Process, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(r.store().dir(id), processFile))
	if err != nil {
		spec, err := r.store().loadSpec(st)
		if err != nil {
			return nil, err
		}
		return spec.Process, nil
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read process of %s: %w", id, err)
	}
	return &p, nil
}

// StateOf returns a container's recorded state and current status.
func (r *Runtime) StateOf(id string) (*State, Status, error) {
	return r.checkedState(id, nil)
}

// OCIState returns the runtime spec's state of a container.
func (r *Runtime) OCIState(id string) (specs.State, error) {
	st, status, err := r.StateOf(id)
	if err != nil {
		return specs.State{}, err
	}
	return st.ociState(status), nil
}

// Start releases a created container's init to exec the user's program,
// then runs the poststart hooks.
func (r *Runtime) Start(id string) error {
	st, _, unlock, err := r.lockedState(id, startable)
	if err != nil {
		return err
	}
	defer unlock()
	phase.Mark("start: state loaded")
	fifoPath := filepath.Join(r.store().dir(id), fifoName)
	if err := releaseInit(fifoPath, st); err != nil {
		return err
	}
	_ = execfifo.Retire(fifoPath)
	phase.Mark("start: released")
	st.Started = true
	if err := r.store().save(st); err != nil {
		return err
	}
	phase.Mark("start: saved")
	if h := st.Hooks; h != nil && len(h.Poststart) > 0 {
		if err := hooks.Run("poststart", h.Poststart, st.hookState(Running)); err != nil {
			// The spec says a failing poststart hook only warns.
			fmt.Fprintln(r.Warn, "warning:", err)
		}
	}
	return nil
}

// startable allows start of a created container only.
func startable(_ string, s Status) error {
	switch s {
	case Created:
		return nil
	case Stopped:
		return fmt.Errorf("%w: cannot start a container that has stopped", ErrWrongState)
	default:
		return fmt.Errorf("%w: cannot start an already %s container", ErrWrongState, s)
	}
}

// releaseInit lets the created init exec the user's program (see
// package execfifo). It gives up if the init dies meanwhile.
func releaseInit(fifoPath string, st *State) error {
	// The pidfd must be open before the fifo: once the fifo is open the
	// init may exec and exit at once.
	pidfd, err := st.pidfd()
	if err != nil {
		return fmt.Errorf("%w: container init has exited", ErrWrongState)
	}
	defer unix.Close(pidfd)
	if err := execfifo.Release(fifoPath, pidfd); err != nil {
		if errors.Is(err, execfifo.ErrInitExited) {
			return fmt.Errorf("%w: %w", ErrWrongState, err)
		}
		return err
	}
	return nil
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	check := notStopped
	if all {
		check = nil
	}
	st, _, err := r.checkedState(id, check)
	if err != nil {
		return err
	}
	if all {
		m, err := r.cgroupOf(st)
		if err != nil {
			return err
		}
		if err := m.KillAll(sig); err != nil {
			return fmt.Errorf("kill all processes: %w", err)
		}
		return nil
	}
	fd, err := st.pidfd()
	if err != nil {
		return fmt.Errorf("%w: container %s is not running", ErrWrongState, id)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		return fmt.Errorf("signal %v to %d: %w", sig, st.Pid, err)
	}
	return nil
}

// cgroupByID loads a container's state and its cgroup manager.
func (r *Runtime) cgroupByID(id string) (cgroups.Manager, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	return r.cgroupOf(st)
}

// cgroupOf rebuilds the cgroup manager recorded in a container's state.
func (r *Runtime) cgroupOf(st *State) (cgroups.Manager, error) {
	if st.Cgroup == nil {
		return nil, fmt.Errorf("%w: container %s has no cgroup", ErrNotSupported, st.ID)
	}
	m, err := cgroups.Load(*st.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("cgroup of %s: %w", st.ID, err)
	}
	return m, nil
}

// Delete removes a stopped (or never started) container: its processes,
// cgroup and state, then runs the poststop hooks. A running container is
// refused unless force is set, and then killed first.
func (r *Runtime) Delete(id string, force bool) error {
	st, status, unlock, err := r.lockedState(id, nil)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			// runc's delete --force of a missing container succeeds,
			// containerd relies on it (a bad ID is still refused).
			return nil
		}
		return err
	}
	defer unlock()
	switch status {
	case Stopped:
	case Created:
		r.killAndWait(st)
	default:
		if !force {
			return fmt.Errorf("%w: cannot delete a %s container without --force", ErrWrongState, status)
		}
		if status == Paused {
			if m, err := r.cgroupOf(st); err == nil {
				_ = m.Thaw() // SIGKILL reaches frozen tasks once thawed; if thawing fails, kill anyway
			}
		}
		r.killAndWait(st)
	}
	phase.Mark("delete: stopped")
	var errs []error
	if st.Cgroup != nil {
		if m, err := cgroups.Load(*st.Cgroup); err == nil {
			// Stray processes the init left (it may have forked) go too.
			if pids, _ := m.Pids(); len(pids) > 0 {
				_ = m.KillAll(unix.SIGKILL) // Destroy reports what could not go
			}
			if err := m.Destroy(); err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
			}
		}
	}
	phase.Mark("delete: cgroup removed")
	if err := os.RemoveAll(r.store().dir(id)); err != nil {
		errs = append(errs, fmt.Errorf("remove state: %w", err))
	}
	if h := st.Hooks; h != nil && len(h.Poststop) > 0 {
		if err := hooks.Run("poststop", h.Poststop, st.hookState(Stopped)); err != nil {
			fmt.Fprintln(r.Warn, "warning:", err)
		}
	}
	return errors.Join(errs...)
}

// killAndWait SIGKILLs the init and waits until it is gone. The init is
// not our child, so a pidfd tells when it exited.
func (r *Runtime) killAndWait(st *State) {
	fd, err := st.pidfd()
	if err != nil {
		return
	}
	defer unix.Close(fd)
	_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) // it may be gone already
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, 10000); err != unix.EINTR {
			break
		}
	}
	// A zombie init still holds its cgroup until its parent reaps it; the
	// cgroup removal retries for that.
}
