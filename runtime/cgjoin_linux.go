package runtime

import (
	"os"

	"github.com/berth-dev/berth/cgroups"
)

// cgroupJoin is how a new process gets into its container's cgroup:
// born in the cgroup2 directory by clone3 (unified, nil when there is
// none) and, with self, joining the v1 hierarchies itself through their
// tasks files, from the thread that execs (cgroups.OpenJoin). Otherwise
// the runtime moves it in, unless it is born there on a pure v2 host.
type cgroupJoin struct {
	unified *os.File
	tasks   []*os.File
	self    bool
}

// openCgroupJoin opens what cg offers for a process to join it without
// being moved, else what clone3 needs on a pure v2 host, else nothing.
func openCgroupJoin(cg cgroups.Manager) cgroupJoin {
	if unified, tasks, err := cg.OpenJoin(); err == nil {
		return cgroupJoin{unified: unified, tasks: tasks, self: true}
	}
	if f, err := cg.OpenUnified(); err == nil {
		return cgroupJoin{unified: f}
	}
	return cgroupJoin{}
}

// moved says whether the runtime must move the process into its cgroup.
func (j cgroupJoin) moved() bool { return !j.self && j.unified == nil }

// taskFDs are the tasks files' descriptors, sent last with the config
// (proto.Config.CgroupJoin).
func (j cgroupJoin) taskFDs() []int {
	fds := make([]int, 0, len(j.tasks))
	for _, f := range j.tasks {
		fds = append(fds, int(f.Fd()))
	}
	return fds
}

// files lists every file j holds open.
func (j cgroupJoin) files() []*os.File {
	if j.unified == nil {
		return j.tasks
	}
	return append([]*os.File{j.unified}, j.tasks...)
}
