package testutil

import "testing"

// TestDropSiblings checks that the cgroups a process manager makes
// beside this process's own are left out, and nothing else is.
func TestDropSiblings(t *testing.T) {
	own := []string{"/sys/fs/cgroup/memory/jobs/a"}
	dirs := map[string]bool{
		"/sys/fs/cgroup/memory/jobs":       true,
		"/sys/fs/cgroup/memory/jobs/a":     true,
		"/sys/fs/cgroup/memory/jobs/a/sub": true,
		"/sys/fs/cgroup/memory/jobs/b":     true,
		"/sys/fs/cgroup/memory/jobs/b/sub": true,
		"/sys/fs/cgroup/memory/jobsx":      true,
		"/sys/fs/cgroup/memory/berth-1":    true,
		"/sys/fs/cgroup/cpu/jobs/b":        true,
	}
	got := dropSiblings(dirs, own)
	for _, d := range []string{"/sys/fs/cgroup/memory/jobs/b", "/sys/fs/cgroup/memory/jobs/b/sub"} {
		if got[d] {
			t.Errorf("%s kept", d)
		}
	}
	for _, d := range []string{"/sys/fs/cgroup/memory/jobs", "/sys/fs/cgroup/memory/jobs/a", "/sys/fs/cgroup/memory/jobs/a/sub", "/sys/fs/cgroup/memory/jobsx", "/sys/fs/cgroup/memory/berth-1", "/sys/fs/cgroup/cpu/jobs/b"} {
		if !got[d] {
			t.Errorf("%s dropped", d)
		}
	}
	if len(dropSiblings(dirs, nil)) != len(dirs) {
		t.Error("no own cgroups: something dropped")
	}
}
