package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is the summed memory of the measured processes, in KiB.
type sample struct {
	rss, pss int64
	procs    int
	// shimPss and shims are the shims' part: berth-shim's and
	// containerd-shim-runc-v2's (comm "containerd-shim").
	shimPss int64
	shims   int
	// daemonPss is the daemon's own part.
	daemonPss int64
}

// isShim says whether comm is a per-pod supervisor's.
func isShim(comm string) bool {
	return comm == "berth-shim" || strings.HasPrefix(comm, "containerd-shim")
}

// proc is what the selection needs of one /proc entry.
type proc struct {
	pid, ppid int
	comm      string
	owned     bool // an argument under the owner directory
}

// members returns the measured pids: the daemon, the processes with an
// argument under owner, and the descendants of both, less the web
// servers.
func members(daemon int, owner string) ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	procs := map[int]proc{}
	children := map[int][]int{}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		p, ok := readProc(pid, owner)
		if !ok {
			continue
		}
		procs[pid] = p
		children[p.ppid] = append(children[p.ppid], pid)
	}
	seen := map[int]bool{}
	var walk func(int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(daemon)
	for pid, p := range procs {
		if p.owned {
			walk(pid)
		}
	}
	var out []proc
	for pid := range seen {
		if p, ok := procs[pid]; ok && p.comm != "httpd" {
			out = append(out, p)
		}
	}
	return out, nil
}

func readProc(pid int, owner string) (proc, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// comm is in parentheses and may hold spaces: parse after the last ')'.
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 2 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	p := proc{pid: pid, ppid: ppid, comm: string(stat[open+1 : end])}
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		for _, a := range bytes.Split(cmd, []byte{0}) {
			if bytes.HasPrefix(a, []byte(owner+"/")) {
				p.owned = true
				break
			}
		}
	}
	return p, true
}

// measure sums RSS and PSS (smaps_rollup) over the members.
func measure(daemon int, owner string) (sample, error) {
	ps, err := members(daemon, owner)
	if err != nil {
		return sample{}, err
	}
	var s sample
	for _, p := range ps {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.pid))
		if err != nil {
			continue // exited since
		}
		pss := field(b, "Pss:")
		s.rss += field(b, "Rss:")
		s.pss += pss
		s.procs++
		if p.pid == daemon {
			s.daemonPss = pss
		}
		if isShim(p.comm) {
			s.shimPss += pss
			s.shims++
		}
	}
	return s, nil
}

// field returns the kB value of a smaps_rollup line.
func field(b []byte, name string) int64 {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// sampleUntil measures every 200 ms until stop closes and returns the
// largest sums seen (each of RSS and PSS on its own).
func sampleUntil(daemon int, owner string, stop <-chan struct{}) sample {
	var peak sample
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if s, err := measure(daemon, owner); err == nil {
			peak.rss, peak.pss = max(peak.rss, s.rss), max(peak.pss, s.pss)
		}
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

// cpuSeconds sums user and system time of the members, with that of the
// children they reaped (runc, CNI plugins, shim start-ups).
func cpuSeconds(daemon int, owner string) (float64, error) {
	ps, err := members(daemon, owner)
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, p := range ps {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 15 {
			continue
		}
		// After comm: state(0) ppid ... utime(11) stime(12) cutime(13) cstime(14).
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return float64(ticks) / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100
