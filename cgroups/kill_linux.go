package cgroups

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// KillAll signals every process in the cgroup.
func (m *manager) KillAll(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		if d := m.paths[""]; d != "" && fileExists(d, "cgroup.kill") {
			if err := writeFile(d, "cgroup.kill", "1"); err != nil {
				return fmt.Errorf("kill all: %w", err)
			}
			return nil
		}
	}
	// Freeze so no process can fork a child that misses the signal; the
	// signals are queued and delivered on thaw.
	// A container that was already paused stays paused, except for
	// SIGKILL, which frozen tasks only act on once thawed.
	frozen := false
	if _, _, err := m.freezerDir(); err == nil {
		st, err := m.FreezerState()
		if err != nil {
			return fmt.Errorf("kill all: %w", err)
		}
		if st == Frozen {
			frozen = sig == unix.SIGKILL
		} else {
			// A cgroup that cannot be frozen (a task stuck in a killable
			// sleep, such as waiting for memory under a disabled OOM
			// killer) still gets its signals: Freeze thawed it again.
			frozen = m.Freeze() == nil
		}
	}
	pids, err := m.Pids()
	if err == nil {
		for _, pid := range pids {
			if kerr := unix.Kill(pid, sig); kerr != nil && kerr != unix.ESRCH {
				err = errors.Join(err, fmt.Errorf("kill %d: %w", pid, kerr))
			}
		}
	}
	if frozen {
		if terr := m.Thaw(); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	if err != nil {
		return fmt.Errorf("kill all: %w", err)
	}
	return nil
}
