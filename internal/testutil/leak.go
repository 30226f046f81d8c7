// Package testutil holds helpers shared by Berth's tests: root checks, the
// leak check every integration test runs afterwards, unique names and
// processes and cleanups that undo what a test made.
package testutil

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// snapshot is what the leak check compares before and after a test.
type snapshot struct {
	mounts  map[string]bool
	cgroups map[string]bool
	netns   map[string]bool
	procs   map[string]bool
}

// CheckLeaks records the host's mounts, cgroup directories, named network
// namespaces and child processes now and, when the test ends, fails it if
// any new one is left behind. Call it first in a test, before any cleanup
// is registered, so that it runs after every other cleanup.
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := take()
	t.Cleanup(func() {
		after := take()
		report := func(what string, b, a map[string]bool) {
			var extra []string
			for k := range a {
				if !b[k] {
					extra = append(extra, k)
				}
			}
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("leaked %s: %s", what, strings.Join(extra, ", "))
			}
		}
		report("mounts", before.mounts, after.mounts)
		report("cgroup directories", before.cgroups, dropSiblings(after.cgroups, ownCgroups()))
		report("network namespaces", before.netns, after.netns)
		report("processes", before.procs, settle(before.procs, after.procs, 5*time.Second))
	})
}

// settle waits up to wait for the processes in after and not in before
// to end, and returns after without those that did. A process the test
// waited for can still be on its way out when the check runs: a zombie
// its reaper is taking ("X" in /proc/PID/stat for that moment), or its
// last threads still exiting. One that stays is a leak; it is then named
// with its state and parent.
func settle(before, after map[string]bool, wait time.Duration) map[string]bool {
	deadline := time.Now().Add(wait)
	for {
		left := map[string]bool{}
		for k := range after {
			if before[k] {
				continue
			}
			if _, f := procStat(strings.Fields(k)[0]); running(f) {
				left[k] = true
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			out := map[string]bool{}
			for k := range left {
				out[k+" ("+procState(strings.Fields(k)[0])+")"] = true
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat returns pid's command name and the fields of /proc/PID/stat
// after it (state first, then the parent's pid); none if it is gone.
func procStat(pid string) (name string, fields []string) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", nil
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 >= len(s) {
		return "", nil
	}
	return s[open+1 : end], strings.Fields(s[end+2:])
}

// running says whether a process whose stat fields these are is neither
// a zombie nor dead.
func running(fields []string) bool {
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X" && fields[0] != "x"
}

// procState describes pid for a leak report: its state and parent.
func procState(pid string) string {
	_, f := procStat(pid)
	if len(f) < 2 {
		return "gone"
	}
	return "state " + f[0] + ", parent " + f[1]
}

func take() snapshot {
	return snapshot{mounts: mounts(), cgroups: cgroupDirs(), netns: netns(), procs: descendants()}
}

func mounts() map[string]bool {
	m := map[string]bool{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return m
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 {
			m[fields[4]] = true
		}
	}
	return m
}

// cgroupDirs lists cgroup directories up to a few levels below every
// mounted hierarchy (containers' cgroups live near the top).
func cgroupDirs() map[string]bool {
	m := map[string]bool{}
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, r := range roots {
		walkDirs(r, 4, m)
	}
	return m
}

// ownCgroups returns the directories of the cgroups this process is in,
// one per mounted hierarchy, from /proc/self/cgroup.
func ownCgroups() []string {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" {
			continue
		}
		if parts[1] == "" { // cgroup v2: unified beside v1, or alone
			root := "/sys/fs/cgroup/unified"
			if _, err := os.Stat(root); err != nil {
				root = "/sys/fs/cgroup"
			}
			dirs = append(dirs, filepath.Join(root, parts[2]))
			continue
		}
		names := strings.TrimPrefix(parts[1], "name=")
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", names, parts[2]))
		for _, c := range strings.Split(names, ",") {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", c, parts[2]))
		}
	}
	return dirs
}

// dropSiblings leaves out of dirs the siblings of the cgroups this
// process is in (and what lies below them). A machine whose process
// manager puts each job in a cgroup of its own (memory:/jobs/ID) makes
// those for other jobs while a test runs; Berth never makes cgroups
// beside its caller's.
func dropSiblings(dirs map[string]bool, own []string) map[string]bool {
	out := map[string]bool{}
	for d := range dirs {
		keep := true
		for _, o := range own {
			if parent := filepath.Dir(o); d != parent && strings.HasPrefix(d, parent+"/") && !strings.HasPrefix(d+"/", o+"/") {
				keep = false
				break
			}
		}
		if keep {
			out[d] = true
		}
	}
	return out
}

func walkDirs(dir string, depth int, m map[string]bool) {
	if depth == 0 {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			p := filepath.Join(dir, e.Name())
			m[p] = true
			walkDirs(p, depth-1, m)
		}
	}
}

func netns() map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// descendants lists processes whose name starts with "berth", whose parent
// chain reaches this test process, or that live in another mount namespace
// (containers), keyed by pid and name.
func descendants() map[string]bool {
	m := map[string]bool{}
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	names := map[int]string{}
	for _, e := range ents {
		pid := atoi(e.Name())
		if pid <= 0 {
			continue
		}
		name, fields := procStat(e.Name())
		if len(fields) < 2 || !running(fields) {
			// A zombie's parent reaps it, a dead one is being
			// reaped; neither holds anything.
			continue
		}
		parent[pid] = atoi(fields[1])
		names[pid] = name
	}
	selfMnt, _ := os.Readlink("/proc/self/ns/mnt")
	for pid, name := range names {
		isOurs := strings.HasPrefix(name, "berth")
		// A process in another mount namespace is a container's (or a
		// runtime's) process: containers' inits are not our descendants
		// once their runtime exits, so they are found this way.
		if mnt, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt"); err == nil && selfMnt != "" && mnt != selfMnt && pid != 1 {
			isOurs = true
		}
		for p, n := pid, 0; p > 1 && n < 64 && !isOurs; p, n = parent[p], n+1 {
			if parent[p] == self {
				isOurs = true
			}
		}
		if isOurs {
			m[strconv.Itoa(pid)+" "+name] = true
		}
	}
	return m
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
