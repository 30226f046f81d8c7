package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mkdirCgroup creates dir and any missing parents, calling init (when not
// nil) on every directory it created, parents first. It returns the
// topmost directory it created, "" when dir already existed. In the
// common case (parent exists) this is one mkdir(2).
func mkdirCgroup(dir string, init func(string) error) (string, error) {
	err := unix.Mkdir(dir, 0o755)
	if err == unix.EEXIST {
		return "", nil
	}
	top := ""
	if err == unix.ENOENT {
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("create cgroup %s: no mounted hierarchy above it", dir)
		}
		if top, err = mkdirCgroup(parent, init); err != nil {
			return "", err
		}
		err = unix.Mkdir(dir, 0o755)
		if err == unix.EEXIST {
			return top, nil
		}
	}
	if err != nil {
		if top != "" {
			_ = removeUpTo(filepath.Dir(dir), top)
		}
		return "", fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	if top == "" {
		top = dir
	}
	if init != nil {
		if err := init(dir); err != nil {
			_ = removeUpTo(dir, top)
			return "", err
		}
	}
	return top, nil
}

// initCpuset gives a v1 cpuset directory whose cpuset.cpus or cpuset.mems
// is empty its parent's value, filling an empty parent the same way
// first: a cpuset cgroup cannot take tasks while either is empty. The
// parents may be someone else's, as the kubelet makes /kubepods/pod<uid>
// without filling them; runc fills them too.
func initCpuset(dir string) error {
	parent := filepath.Dir(dir)
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readFile(dir, f)
		if err != nil {
			return fmt.Errorf("init cpuset: %w", err)
		}
		if cur != "" {
			continue
		}
		v, err := readFile(parent, f)
		if err == nil && v == "" {
			if err := initCpuset(parent); err != nil {
				return err
			}
			v, err = readFile(parent, f)
		}
		if err != nil {
			return fmt.Errorf("init cpuset: %w", err)
		}
		if err := writeFile(dir, f, v); err != nil {
			return fmt.Errorf("init cpuset: %w", err)
		}
	}
	return nil
}

// enableInParent makes the parent of a new cgroup2 directory delegate every
// controller it has, so that the new directory gets their files. A
// controller the kernel refuses (the parent holds processes, or it is
// bound to a v1 hierarchy) is left out; setting a limit that needs it then
// fails with ErrNotSupported.
func enableInParent(dir string) error {
	parent := filepath.Dir(dir)
	avail, err := readFile(parent, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("enable controllers: %w", err)
	}
	if avail == "" {
		return nil
	}
	enabled, err := readFile(parent, "cgroup.subtree_control")
	if err != nil {
		return fmt.Errorf("enable controllers: %w", err)
	}
	have := map[string]bool{}
	for _, c := range strings.Fields(enabled) {
		have[c] = true
	}
	var missing []string
	for _, c := range strings.Fields(avail) {
		if !have[c] {
			missing = append(missing, "+"+c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if writeFile(parent, "cgroup.subtree_control", strings.Join(missing, " ")) == nil {
		return nil
	}
	for _, c := range missing {
		_ = writeFile(parent, "cgroup.subtree_control", c)
	}
	return nil
}

// Destroy removes the directories Apply created. A manager loaded from a
// state without creation records removes its container directories.
func (m *manager) Destroy() error {
	var errs []error
	for _, d := range m.dirs() {
		top := d
		if m.created != nil {
			t, ok := m.created[d]
			if !ok {
				continue
			}
			top = t
		}
		if err := removeUpTo(d, top); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(m.created, d)
	}
	return errors.Join(errs...)
}

// removeCreated undoes a failed Apply.
func (m *manager) removeCreated() {
	for d, top := range m.created {
		if removeUpTo(d, top) == nil {
			delete(m.created, d)
		}
	}
}

// removeUpTo removes dir with every sub-cgroup in it, then its parents up
// to and including top (top must be dir or one of its ancestors).
func removeUpTo(dir, top string) error {
	if err := removeTree(dir); err != nil {
		return err
	}
	for d := dir; d != top && strings.HasPrefix(d, top+"/"); {
		d = filepath.Dir(d)
		if err := rmdirRetry(d); err != nil {
			return err
		}
	}
	return nil
}

// removeTree removes a cgroup directory and its sub-cgroups, deepest first.
// A directory that is already gone is not an error.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return rmdirRetry(dir)
}

// rmdirRetry removes one cgroup directory. The kernel answers EBUSY while
// exiting tasks are still being released, so EBUSY is retried with a short
// back-off (about a second in all) before it is reported.
func rmdirRetry(dir string) error {
	delay := time.Millisecond
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || i == 10 {
			if err == unix.EBUSY {
				return fmt.Errorf("remove cgroup %s: still has processes or sub-cgroups: %w", dir, err)
			}
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(delay)
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// Pids lists every process in the container's cgroup and its sub-cgroups.
func (m *manager) Pids() ([]int, error) {
	d := m.mainDir()
	if d == "" {
		return nil, noCgroup()
	}
	var pids []int
	if err := collectPids(d, &pids); err != nil {
		return nil, err
	}
	return pids, nil
}

func collectPids(dir string, pids *[]int) error {
	s, err := readFile(dir, "cgroup.procs")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, f := range strings.Fields(s) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			*pids = append(*pids, pid)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := collectPids(filepath.Join(dir, e.Name()), pids); err != nil && !isNotExist(err) {
				return err
			}
		}
	}
	return nil
}
