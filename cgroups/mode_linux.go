package cgroups

import (
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where the cgroup hierarchies are mounted on a normal host.
const DefaultRoot = "/sys/fs/cgroup"

var (
	defaultModeOnce sync.Once
	defaultMode     Mode
)

// DetectMode returns the cgroup layout under DefaultRoot. The answer is
// computed once per process with one or two statfs calls.
func DetectMode() Mode {
	defaultModeOnce.Do(func() { defaultMode = detectMode(DefaultRoot) })
	return defaultMode
}

// detectMode tells the layout under root by file-system magic: cgroup2 at
// root is Unified, cgroup2 at root/unified is Hybrid, anything else Legacy.
func detectMode(root string) Mode {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Unified
	}
	if err := unix.Statfs(filepath.Join(root, "unified"), &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return Hybrid
	}
	return Legacy
}
