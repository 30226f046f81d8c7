package cgroups

import (
	"fmt"
	"strconv"
)

// AddProc moves pid into every directory of an applied cgroup. Apply(-1)
// followed by AddProc lets the runtime create and configure the cgroup
// before the process exists and move it in while the process starts up:
// on cgroup v1 the move waits for an RCU grace period, so overlapping it
// with the container's set-up matters.
func (m *manager) AddProc(pid int) error {
	if pid <= 0 {
		return invalidf("pid %d", pid)
	}
	for _, d := range m.dirs() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("move pid %d into cgroup: %w", pid, err)
		}
	}
	return nil
}
