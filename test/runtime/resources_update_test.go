package runtime_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// startLimited runs a detached container with args and a few initial
// limits, and returns its id and init pid.
func (e *env) startLimited(args []string) (string, int) {
	e.t.Helper()
	if _, ok := cgroupMounts(e.t)["memory"]; !ok {
		e.t.Skip("reads cgroup v1 files; this host has no v1 memory hierarchy")
	}
	b := e.bundle(args, func(s *specs.Spec) {
		r := s.Linux.Resources
		// Swappiness 0: on a host with swap the kernel must not make room
		// for a lower limit by swapping the tmpfs test data out.
		r.Memory = &specs.LinuxMemory{Limit: ptr(int64(256 << 20)), Reservation: ptr(int64(64 << 20)), Swappiness: ptr(uint64(0))}
		r.CPU = &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000))}
		r.Pids = &specs.LinuxPids{Limit: ptr(int64(100))}
	})
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	return id, e.state(id).Pid
}

func TestUpdateFlagsAndFile(t *testing.T) {
	e := newEnv(t)
	id, pid := e.startLimited([]string{"sleep", "300"})
	// Swap accounting and CFS burst depend on the kernel's build and boot
	// options: flags for them are tested only where the host has them.
	swap := hasCgroupFile(t, "memory", "memory.memsw.limit_in_bytes")
	burst := hasCgroupFile(t, "cpu", "cpu.cfs_burst_us")
	wantSwap := func() {
		t.Helper()
		if swap {
			wantCg(t, pid, "memory", "memory.memsw.limit_in_bytes", itoa(192<<20))
		}
	}

	args := []string{"update", "--memory", "128m", "--memory-reservation", "32m",
		"--cpu-share", "256", "--cpu-quota", "20000", "--cpu-period", "50000",
		"--cpuset-cpus", "0", "--pids-limit", "50"}
	if swap {
		args = append(args, "--memory-swap", "192MiB")
	}
	if burst {
		args = append(args, "--cpu-burst", "1000")
	}
	e.must(append(args, id)...)
	wantCg(t, pid, "memory", "memory.limit_in_bytes", itoa(128<<20))
	wantSwap()
	wantCg(t, pid, "memory", "memory.soft_limit_in_bytes", itoa(32<<20))
	wantCg(t, pid, "cpu", "cpu.shares", "256")
	wantCg(t, pid, "cpu", "cpu.cfs_quota_us", "20000")
	wantCg(t, pid, "cpu", "cpu.cfs_period_us", "50000")
	if burst {
		wantCg(t, pid, "cpu", "cpu.cfs_burst_us", "1000")
	}
	wantCg(t, pid, "cpuset", "cpuset.cpus", "0")
	wantCg(t, pid, "pids", "pids.max", "50")

	// -r FILE: only what the file names changes.
	f := filepath.Join(t.TempDir(), "res.json")
	writeJSON(t, f, specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(96 << 20))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(300))},
	})
	e.must("update", "-r", f, id)
	wantCg(t, pid, "memory", "memory.limit_in_bytes", itoa(96<<20))
	wantSwap()
	wantCg(t, pid, "cpu", "cpu.shares", "300")
	wantCg(t, pid, "pids", "pids.max", "50")
	if swap {
		// The memory limit cannot pass the memory+swap limit on its own.
		e.fails("raise memory.swap too", "update", "--memory", "256m", id)
		wantCg(t, pid, "memory", "memory.limit_in_bytes", itoa(96<<20))
		wantSwap()
	}

	// -r - reads stdin; -1 lifts the pids limit.
	// All online CPUs: "0-1" on this 2-core VM, but not on every host.
	if r := e.runIn([]byte(`{"pids": {"limit": -1}, "cpu": {"cpus": "`+onlineCPUs(t)+`"}}`), "update", "-r", "-", id); r.code != 0 {
		t.Fatalf("update -r -: exit %d: %s", r.code, r.err)
	}
	wantCg(t, pid, "pids", "pids.max", "max")
	wantCg(t, pid, "cpuset", "cpuset.cpus", onlineCPUs(t))

	// Device rules are fixed at create: update warns and leaves them.
	r := e.runIn([]byte(`{"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 70}}`), "update", "-r", "-", id)
	if r.code != 0 || !strings.Contains(r.err, "ignores linux.resources.devices") {
		t.Fatalf("update with devices: exit %d: %q", r.code, r.err)
	}
	wantCg(t, pid, "pids", "pids.max", "70")
	if out := e.must("exec", id, "sh", "-c", "echo x > /dev/null && head -c1 /dev/zero | wc -c"); strings.TrimSpace(out) != "1" {
		t.Fatalf("devices after update: %q", out)
	}

	// A paused container can be updated too.
	e.must("pause", id)
	e.must("update", "--pids-limit", "64", id)
	wantCg(t, pid, "pids", "pids.max", "64")
	e.must("resume", id)
}

// limitFiles are the cgroup files TestUpdateBadInput expects unchanged.
var limitFiles = []struct{ ctrl, file string }{
	{"memory", "memory.limit_in_bytes"},
	{"memory", "memory.memsw.limit_in_bytes"},
	{"memory", "memory.soft_limit_in_bytes"},
	{"cpu", "cpu.shares"},
	{"cpu", "cpu.cfs_quota_us"},
	{"cpu", "cpu.cfs_period_us"},
	{"cpu", "cpu.rt_runtime_us"},
	{"cpuset", "cpuset.cpus"},
	{"pids", "pids.max"},
}

func snapshotLimits(t *testing.T, pid int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range limitFiles {
		if !hasCgroupFile(t, f.ctrl, f.file) {
			continue // swap accounting or RT group scheduling not in this kernel
		}
		out[f.file] = cgFile(t, pid, f.ctrl, f.file)
	}
	return out
}

func TestUpdateBadInput(t *testing.T) {
	e := newEnv(t)
	// 20 MB in the container's tmpfs: charged to its memory cgroup and not
	// reclaimable without swap.
	id, pid := e.startLimited([]string{"sh", "-c", "head -c 20971520 /dev/zero > /dev/shm/fill && echo filled > /dev/shm/done; sleep 300"})
	waitFor(t, func() bool {
		u, _ := strconv.ParseInt(cgFile(t, pid, "memory", "memory.usage_in_bytes"), 10, 64)
		return u >= 20<<20
	})
	before := snapshotLimits(t, pid)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	cases := []struct {
		name string
		want string
		args []string
	}{
		{"unknown field", `unknown field "bogus"`, []string{"-r", file("unknown.json", `{"memory": {"limit": 1048576, "bogus": 1}}`)}},
		{"unknown top-level field", `unknown field "memroy"`, []string{"-r", file("typo.json", `{"memroy": {"limit": 1048576}}`)}},
		{"malformed", "malformed JSON", []string{"-r", file("bad.json", `{"memory": {"limit": `)}},
		{"trailing data", "after the JSON object", []string{"-r", file("trail.json", `{"pids": {"limit": 5}} {}`)}},
		{"wrong type", "memory.limit", []string{"-r", file("type.json", `{"memory": {"limit": "lots"}}`)}},
		{"missing file", "no such file", []string{"-r", filepath.Join(dir, "nonexistent.json")}},
		{"memory below usage", "below current usage", []string{"--memory", "4m", "--cpu-share", "100"}},
		{"checkBeforeUpdate", "below current usage", []string{"-r", file("check.json", `{"memory": {"limit": 16777216, "checkBeforeUpdate": true}}`)}},
		{"cpus outside the host", `cpu.cpus "99"`, []string{"--cpuset-cpus", "99", "--pids-limit", "10"}},
		{"negative pids", "pids.limit -5", []string{"--pids-limit", "-5"}},
		{"bad size", "--memory", []string{"--memory", "lots"}},
		{"cpu shares out of range", "cpu.shares", []string{"--cpu-share", "1"}},
		{"swap below memory", "memory.swap", []string{"--memory", "128m", "--memory-swap", "64m"}},
		{"rdt", "Intel RDT", []string{"--l3-cache-schema", "L3:0=f"}},
		// Valid on paper, refused by the kernel after the memory and
		// shares were written: both are put back.
		{"kernel refuses a later value", "cpu.realtimeRuntime", []string{"--memory", "100m", "--cpu-share", "100", "--cpu-rt-runtime", "2000000"}},
		{"unified on v1", "pure cgroup v2", []string{"-r", file("unified.json", `{"unified": {"memory.high": "1000000"}}`)}},
		{"empty file", "empty input", []string{"-r", file("empty.json", "")}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			e := e.sub(t)
			r := e.fails(c.want, append(append([]string{"update"}, c.args...), id)...)
			if r.code != 1 {
				t.Errorf("exit code %d, want 1", r.code)
			}
			oneLine(t, r)
			t.Log(strings.TrimSpace(r.err))
			after := snapshotLimits(t, pid)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s changed from %q to %q", k, v, after[k])
				}
			}
		})
	}
	if st := e.state(id); st.Status != specs.StateRunning {
		t.Fatalf("container is %s after the failed updates", st.Status)
	}
	// A stopped container cannot be updated.
	e.must("kill", id, "KILL")
	e.waitStatus(id, specs.StateStopped)
	e.fails("stopped", "update", "--pids-limit", "10", id)
}

// onlineCPUs is the host's online CPU list.
func onlineCPUs(t *testing.T) string {
	t.Helper()
	b, err := readFileString("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
