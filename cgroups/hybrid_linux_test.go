package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// requireV1Host skips unless running as root on a host with v1
// hierarchies at DefaultRoot (this machine is hybrid).
func requireV1Host(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if DetectMode() == Unified {
		t.Skip("needs cgroup v1 hierarchies")
	}
}

// v1Mount returns the mount point of this host's v1 hierarchy holding
// ctrl, or "".
func v1Mount(t *testing.T, ctrl string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range parseMountinfo(string(b), DefaultRoot) {
		for _, c := range m.controllers {
			if c == ctrl {
				return m.point
			}
		}
	}
	return ""
}

func TestV1Lifecycle(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	// Swap accounting is a kernel build and boot option.
	swap := fileExists(v1Mount(t, "memory"), "memory.memsw.limit_in_bytes")
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Reservation: ptr(int64(32 << 20)), Swappiness: ptr(uint64(10))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(32))},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"},
		},
	}
	if swap {
		res.Memory.Swap = ptr(int64(96 << 20))
	}
	m, err := New(Config{Path: "/" + name, ID: name, Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	cmd := testutil.StartSleep(t)
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	// (The suite checks that every hierarchy holds the process.) Each
	// controller's path lies in the host's mount of it, whether
	// cpu and cpuacct are mounted apart (as here) or together.
	for _, ctrl := range []string{"cpu", "cpuacct"} {
		if mp := v1Mount(t, ctrl); !strings.HasPrefix(m.Path(ctrl), mp+"/") {
			t.Errorf("%s path %s is not below its mount %s", ctrl, m.Path(ctrl), mp)
		}
	}
	if DetectMode() == Hybrid {
		d := m.Path("")
		if d != filepath.Join(DefaultRoot, "unified", name) {
			t.Errorf("hybrid cgroup2 path = %q", d)
		}
	}

	for ctrl, files := range map[string]map[string]string{
		"memory":  {"memory.limit_in_bytes": "67108864", "memory.soft_limit_in_bytes": "33554432", "memory.swappiness": "10"},
		"cpu":     {"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"},
		"cpuset":  {"cpuset.cpus": "0", "cpuset.mems": "0"},
		"pids":    {"pids.max": "32"},
		"devices": {"devices.list": "c 1:3 rwm"},
	} {
		for f, want := range files {
			if got := readBack(t, m.Path(ctrl), f); got != want {
				t.Errorf("%s/%s = %q, want %q", ctrl, f, got, want)
			}
		}
	}

	if swap {
		if got := readBack(t, m.Path("memory"), "memory.memsw.limit_in_bytes"); got != "100663296" {
			t.Errorf("memsw = %s", got)
		}
		// Update raises memory+swap above the old value: the write order
		// must keep memsw >= limit.
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 20)), Swap: ptr(int64(512 << 20))}}); err != nil {
			t.Fatalf("raise memory: %v", err)
		}
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(16 << 20)), Swap: ptr(int64(16 << 20))}}); err != nil {
			t.Fatalf("lower memory: %v", err)
		}
		if got := readBack(t, m.Path("memory"), "memory.memsw.limit_in_bytes"); got != "16777216" {
			t.Errorf("memsw after lowering = %s", got)
		}
	}

	// Without a v1 hugetlb hierarchy, hybrid mode puts hugepage limits in
	// the cgroup2 directory.
	if DetectMode() == Hybrid && m.Path("hugetlb") == "" && fileExists(m.Path(""), "hugetlb.2MB.max") {
		if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}}); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, m.Path(""), "hugetlb.2MB.max"); got != "2097152" {
			t.Errorf("hugetlb.2MB.max = %s", got)
		}
	}

	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids.Current != 1 || st.Pids.Limit != 32 || st.Memory.Usage.Limit != 16<<20 || len(st.CPUSet.CPUs) != 1 {
		t.Errorf("stats: pids %+v, memory usage %+v, cpuset %+v", st.Pids, st.Memory.Usage, st.CPUSet)
	}
	if _, err := m.OOMKillCount(); err != nil {
		t.Fatal(err)
	}
}

func TestV1DefaultPathIsRelativeToOwnCgroup(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	m, err := New(Config{ID: name})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	own := parseProcCgroup(string(data))
	want := filepath.Join(DefaultRoot, "memory", own["memory"], name)
	if got := m.Path("memory"); got != want {
		t.Fatalf("memory path = %s, want %s", got, want)
	}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
}

func TestV1NestedPathInitialisesCpusets(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	m, err := New(Config{Path: "/" + name + "/pod/ctr", Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	cmd := testutil.StartSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// The intermediate cpuset was initialised from its parent, the leaf
	// got the requested CPU.
	cs := m.Path("cpuset")
	if got := readBack(t, filepath.Dir(cs), "cpuset.cpus"); got == "" {
		t.Error("intermediate cpuset has no cpus")
	}
	if got := readBack(t, cs, "cpuset.cpus"); got != "1" {
		t.Errorf("leaf cpuset.cpus = %q", got)
	}
	if created := m.State().Created[cs]; created != filepath.Join(DefaultRoot, "cpuset", name) {
		t.Errorf("Created[%s] = %q", cs, created)
	}
}

func TestV1BadInputLeavesNothing(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	for label, r := range map[string]*specs.LinuxResources{
		"offline cpus": {CPU: &specs.LinuxCPU{Cpus: "0-1023"}},
	} {
		if _, err := New(Config{Path: "/" + name, Resources: r}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New error = %v, want ErrInvalid", label, err)
		}
	}
	// Valid-looking input the kernel refuses during Apply: a realtime
	// budget the parent cannot give. Apply must remove what it created.
	m, err := New(Config{Path: "/" + name + "/sub", Resources: &specs.LinuxResources{
		CPU: &specs.LinuxCPU{RealtimePeriod: ptr(uint64(1000000)), RealtimeRuntime: ptr(int64(999999))}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(-1); err == nil {
		t.Log("kernel accepted the realtime budget; undoing")
		if err := m.Destroy(); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, d := range m.State().Paths {
		if _, err := os.Stat(filepath.Dir(d)); !os.IsNotExist(err) {
			t.Errorf("failed Apply left %s", filepath.Dir(d))
		}
	}
}

func TestV1MemoryBelowUsage(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	m, err := New(Config{Path: "/" + name})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Undo(t, "destroy", m.Destroy)
	// A shell that, once told to, fills a 4 MiB variable: pages allocated
	// after Apply are charged to the container's memory cgroup.
	cmd := exec.Command("sh", "-c", `read go; x=$(head -c 4194304 /dev/zero | tr '\0' a); echo ready; read done`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	dir := m.Path("memory")
	usage, err := readUint(dir, "memory.usage_in_bytes")
	if err != nil || usage < 1<<20 {
		t.Fatalf("usage %d, %v: the child's memory was not charged", usage, err)
	}
	before := readBack(t, dir, "memory.limit_in_bytes")

	// checkBeforeUpdate refuses without writing.
	err = m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(512 << 10)), CheckBeforeUpdate: ptr(true)}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit below usage with checkBeforeUpdate: %v", err)
	}
	if got := readBack(t, dir, "memory.limit_in_bytes"); got != before {
		t.Fatalf("limit changed to %s", got)
	}
	// Without it the kernel tries to reclaim, cannot (no swap for anonymous
	// memory, or not enough of it) and answers EBUSY: a clear ErrInvalid,
	// and the old limit stays.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 10)), Swap: ptr(int64(256 << 10))}}); err == nil {
		t.Log("kernel reclaimed below the limit (swap available); nothing more to check")
	} else {
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, unix.EBUSY) {
			t.Fatalf("limit below usage: %v", err)
		}
		if got := readBack(t, dir, "memory.limit_in_bytes"); got != before {
			t.Fatalf("limit changed to %s after a refused update", got)
		}
	}
	// Swap below memory is refused before anything is written.
	err = m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 30)), Swap: ptr(int64(1 << 20))}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("swap below memory: %v", err)
	}
	if got := readBack(t, dir, "memory.limit_in_bytes"); got != before {
		t.Fatalf("limit changed to %s", got)
	}
}

// TestOpenJoinMovesTheWritingThread: OpenJoin gives the cgroup2
// directory (hybrid) and a tasks file per v1 hierarchy; a process's
// thread writing "0" to each is then in every v1 directory of the
// container, while the process's other threads stay where they were.
func TestOpenJoinMovesTheWritingThread(t *testing.T) {
	requireV1Host(t)
	testutil.CheckLeaks(t)
	name := testutil.Name(t)
	m, err := New(Config{Path: "/" + name, ID: "join"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(-1); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Destroy(); err != nil {
			t.Error(err)
		}
	}()
	unified, tasks, err := m.OpenJoin()
	if err != nil {
		t.Fatal(err)
	}
	if (unified != nil) != (m.Path("") != "") {
		t.Errorf("cgroup2 directory %v, want one exactly when the container has %q", unified, m.Path(""))
	}
	if unified != nil {
		unified.Close()
	}
	v1 := 0
	for _, d := range m.(*manager).dirs() {
		if d != m.Path("") {
			v1++
		}
	}
	if len(tasks) != v1 || v1 == 0 {
		t.Fatalf("%d tasks files for %d v1 directories", len(tasks), v1)
	}
	// A Go process like berth-init: its main thread joins, its other
	// threads report where they are.
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BERTH_CGROUPS_JOIN_HELPER="+strconv.Itoa(len(tasks)))
	cmd.ExtraFiles = tasks
	out, err := cmd.Output()
	for _, f := range tasks {
		f.Close()
	}
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	main, others, _ := strings.Cut(string(out), "---\n")
	got := parseProcCgroup(main)
	for ctrl, d := range m.State().Paths {
		if ctrl == "" {
			continue
		}
		if !strings.HasSuffix(d, got[ctrl]) || got[ctrl] == "/" {
			t.Errorf("the writing thread's %s cgroup is %q, want the container's %s", ctrl, got[ctrl], d)
		}
	}
	if strings.Contains(others, name) || others == "" {
		t.Errorf("another thread of the process moved too, or none was seen: %q", others)
	}
}

// init is TestOpenJoinMovesTheWritingThread's process when the test
// binary runs as it: like berth-init, its main thread (init functions run
// there) writes "0" to the tasks files it inherits; it prints that
// thread's cgroups and, after "---", its other threads'.
func init() {
	n, err := strconv.Atoi(os.Getenv("BERTH_CGROUPS_JOIN_HELPER"))
	if err != nil {
		return
	}
	runtime.LockOSThread()
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.Write(fd, []byte("0")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	b, _ := os.ReadFile("/proc/thread-self/cgroup")
	var others strings.Builder
	ents, _ := os.ReadDir("/proc/self/task")
	for _, e := range ents {
		if e.Name() != strconv.Itoa(unix.Gettid()) {
			c, _ := os.ReadFile("/proc/self/task/" + e.Name() + "/cgroup")
			others.Write(c)
		}
	}
	fmt.Print(string(b) + "---\n" + others.String())
	os.Exit(0)
}
