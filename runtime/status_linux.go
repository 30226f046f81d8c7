package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cgroups"
)

// status works out a container's current status from its init process:
// gone (or a zombie, or a different process reusing the pid) means
// stopped; still blocked on the exec fifo means created; else running, or
// paused when its cgroup is frozen.
func (r *Runtime) status(st *State) Status {
	if st.Pid == 0 {
		// No init recorded yet: creating while its create holds the
		// lock, else left behind by a create that died.
		if !r.held[st.ID] && r.store().locked(st.ID) {
			return Creating
		}
		return Stopped
	}
	if !st.alive() {
		return Stopped
	}
	if _, err := os.Lstat(filepath.Join(r.store().dir(st.ID), fifoName)); err == nil {
		return Created
	}
	if st.Cgroup != nil {
		if m, err := cgroups.Load(*st.Cgroup); err == nil {
			if fs, err := m.FreezerState(); err == nil && fs == cgroups.Frozen {
				return Paused
			}
		}
	}
	return Running
}

// alive reports whether the container's init is still the process we
// started and has not exited.
func (s *State) alive() bool {
	if s.Pid <= 0 {
		return false
	}
	start, zombie, err := processStartTime(s.Pid)
	if err != nil || zombie {
		return false
	}
	return start == s.StartTime
}

// pidfd opens a pidfd for the init after checking it is still ours, so
// signals can't reach a process that reused the pid.
func (s *State) pidfd() (int, error) {
	fd, err := unix.PidfdOpen(s.Pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, os.ErrProcessDone
		}
		return -1, err
	}
	if !s.alive() {
		unix.Close(fd)
		return -1, os.ErrProcessDone
	}
	return fd, nil
}

// A stateCheck refuses an operation in a container's current status with
// an ErrWrongState error; a nil one allows every status.
type stateCheck func(id string, s Status) error

// onlyIn allows an operation in the statuses given and refuses it in any
// other as "cannot VERB a STATUS container".
func onlyIn(verb string, allowed ...Status) stateCheck {
	return func(_ string, s Status) error {
		if slices.Contains(allowed, s) {
			return nil
		}
		return fmt.Errorf("%w: cannot %s a %s container", ErrWrongState, verb, s)
	}
}

// notStopped refuses an operation on a stopped container.
func notStopped(id string, s Status) error {
	if s == Stopped {
		return fmt.Errorf("%w: container %s is not running", ErrWrongState, id)
	}
	return nil
}

// checkedState loads container id's state, works out its status and lets
// check refuse it.
func (r *Runtime) checkedState(id string, check stateCheck) (*State, Status, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, "", err
	}
	s := r.status(st)
	if check != nil {
		if err := check(id, s); err != nil {
			return nil, "", err
		}
	}
	return st, s, nil
}

// lockedState takes container id's lock, then loads and checks its state
// as checkedState does: no other command changes the container until the
// caller calls unlock. On error nothing is held.
func (r *Runtime) lockedState(id string, check stateCheck) (_ *State, _ Status, unlock func(), err error) {
	if err := ValidateID(id); err != nil {
		return nil, "", nil, err
	}
	unlock, err = r.lock(id)
	if err != nil {
		return nil, "", nil, err
	}
	st, s, err := r.checkedState(id, check)
	if err != nil {
		unlock()
		return nil, "", nil, err
	}
	return st, s, unlock, nil
}
