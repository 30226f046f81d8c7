package runtime

import (
	"errors"
	"os"
	"path/filepath"

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
