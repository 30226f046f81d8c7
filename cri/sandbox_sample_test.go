package cri

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/engine"
)

// TestReadNetDev reads this process's network namespace as the pod
// stats read a pause's: every interface of /proc/net/dev but lo, with
// its counters in the right columns.
func TestReadNetDev(t *testing.T) {
	b, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		t.Skip(err)
	}
	got := readNetDev(os.Getpid())
	want := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n")[2:] {
		name, rest, ok := strings.Cut(l, ":")
		if name = strings.TrimSpace(name); ok && name != "lo" {
			want[name] = strings.Fields(rest)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d interfaces read, /proc has %d but lo", len(got), len(want))
	}
	for _, i := range got {
		f, ok := want[i.name]
		if !ok {
			t.Fatalf("interface %q is not in /proc/net/dev", i.name)
		}
		// Counters move; the packet counts are at least what they were.
		if i.rxPackets < parse(f[1]) || i.txPackets < parse(f[9]) {
			t.Errorf("%s: rx %d tx %d packets, /proc said %s and %s before", i.name, i.rxPackets, i.txPackets, f[1], f[9])
		}
	}
	if readNetDev(-1) != nil {
		t.Errorf("a pid that is not there has interfaces")
	}
}

func parse(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// TestWorkingSet checks the inactive page cache is taken off the usage,
// the hierarchical counter preferred, and never below zero.
func TestWorkingSet(t *testing.T) {
	u := func(use uint64, raw map[string]uint64) *engine.Usage {
		return &engine.Usage{Stats: &cgroups.Stats{Memory: cgroups.Memory{Usage: cgroups.MemoryEntry{Usage: use}, Raw: raw}}}
	}
	for _, c := range []struct {
		u    *engine.Usage
		want uint64
	}{
		{u(100, nil), 100},
		{u(100, map[string]uint64{"total_inactive_file": 30, "inactive_file": 10}), 70},
		{u(100, map[string]uint64{"inactive_file": 10}), 90},
		{u(100, map[string]uint64{"inactive_file": 200}), 0},
	} {
		if got := workingSet(c.u); got != c.want {
			t.Errorf("workingSet(%v) = %d, want %d", c.u.Stats.Memory, got, c.want)
		}
	}
}
