package cgroups

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeDir creates dir with the given control files (name -> content).
// Files written by Set start empty, like a fresh cgroup's would be replaced.
func fakeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readBack(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSetV2Translations(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"memory.max", "memory.swap.max", "memory.low", "memory.current", "cpu.weight", "cpu.max",
		"cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max",
		"hugetlb.2MB.max", "memory.high", "rdma.max"} {
		files[f] = ""
	}
	files["memory.current"] = "1000\n"
	d := fakeDir(t, files)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 20)), Swap: ptr(int64(384 << 20)), Reservation: ptr(int64(64 << 20)),
			CheckBeforeUpdate: ptr(true), Swappiness: ptr(uint64(10)), DisableOOMKiller: ptr(true)},
		CPU:            &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Burst: ptr(uint64(1000)), Idle: ptr(int64(1)), Cpus: "0", Mems: "0"},
		Pids:           &specs.LinuxPids{Limit: ptr(int64(0))},
		BlockIO:        &specs.LinuxBlockIO{Weight: ptr(uint16(1000)), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: ptr(uint32(3))}},
		Unified:        map[string]string{"memory.high": "200000000"},
	}
	if err := validateStatic(r, Unified); err != nil {
		t.Fatal(err)
	}
	if err := setV2(d, r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory.max": "268435456", "memory.swap.max": "134217728", "memory.low": "67108864",
		"cpu.weight": "100", "cpu.max": "50000 100000", "cpu.max.burst": "1000", "cpu.idle": "1",
		"cpuset.cpus": "0", "cpuset.mems": "0", "pids.max": "max",
		"io.weight": "default 10000", "io.max": "8:0 rbps=1048576", "hugetlb.2MB.max": "4194304",
		"memory.high": "200000000", "rdma.max": "mlx5_1 hca_handle=3",
	}
	for f, v := range want {
		if got := readBack(t, d, f); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}

func TestSetV2Errors(t *testing.T) {
	d := fakeDir(t, map[string]string{"memory.max": "", "memory.current": "5000000"})
	err := setV2(d, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(4096)), CheckBeforeUpdate: ptr(true)}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit below usage: %v", err)
	}
	if got := readBack(t, d, "memory.max"); got != "" {
		t.Fatalf("memory.max written despite the failed check: %q", got)
	}
	if err := setV2(d, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("missing controller file: %v", err)
	}
	if err := setV2(d, &specs.LinuxResources{Unified: map[string]string{"memory.nonsense": "1"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown unified key: %v", err)
	}
	if err := setV2(d, &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr(uint32(1))}}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("net_cls on v2: %v", err)
	}
}

// fakeV1 builds a legacy-mode manager whose hierarchies are temp dirs.
func fakeV1(t *testing.T, files map[string]map[string]string) *manager {
	t.Helper()
	m := &manager{mode: Legacy, paths: map[string]string{}}
	for ctrl, fs := range files {
		m.paths[ctrl] = fakeDir(t, fs)
	}
	return m
}

func TestSetV1Files(t *testing.T) {
	m := fakeV1(t, map[string]map[string]string{
		"memory": {"memory.limit_in_bytes": "9", "memory.memsw.limit_in_bytes": "9",
			"memory.soft_limit_in_bytes": "", "memory.swappiness": "", "memory.oom_control": "", "memory.usage_in_bytes": "100"},
		"cpu":     {"cpu.shares": "", "cpu.cfs_period_us": "", "cpu.cfs_quota_us": "", "cpu.cfs_burst_us": "", "cpu.idle": ""},
		"cpuset":  {"cpuset.cpus": "", "cpuset.mems": ""},
		"pids":    {"pids.max": ""},
		"blkio":   {"blkio.bfq.weight": "", "blkio.bfq.weight_device": "", "blkio.throttle.write_iops_device": ""},
		"net_cls": {"net_cls.classid": ""}, "net_prio": {"net_prio.ifpriomap": ""},
		"devices": {"devices.allow": "", "devices.deny": ""},
	})
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(1 << 30)), Swap: ptr(int64(2 << 30)), Reservation: ptr(int64(1 << 29)), Swappiness: ptr(uint64(0)), DisableOOMKiller: ptr(true)},
		CPU:     &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(20000)), Period: ptr(uint64(100000)), Burst: ptr(uint64(5000)), Idle: ptr(int64(0)), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(100))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(300)), WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Weight: ptr(uint16(200))}}, ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 50}}},
		Network: &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001)), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rwm"}},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"memory":  {"memory.limit_in_bytes": "1073741824", "memory.memsw.limit_in_bytes": "2147483648", "memory.soft_limit_in_bytes": "536870912", "memory.swappiness": "0", "memory.oom_control": "1"},
		"cpu":     {"cpu.shares": "512", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "20000", "cpu.cfs_burst_us": "5000", "cpu.idle": "0"},
		"cpuset":  {"cpuset.cpus": "0-1", "cpuset.mems": "0"},
		"pids":    {"pids.max": "100"},
		"blkio":   {"blkio.bfq.weight": "300", "blkio.bfq.weight_device": "8:16 200", "blkio.throttle.write_iops_device": "8:0 50"},
		"net_cls": {"net_cls.classid": "1048577"}, "net_prio": {"net_prio.ifpriomap": "eth0 5"},
		// A regular file keeps only the last write: the allow rule.
		"devices": {"devices.allow": "c 1:3 rwm", "devices.deny": "a *:* rwm"},
	}
	for ctrl, files := range want {
		for f, v := range files {
			if got := readBack(t, m.paths[ctrl], f); got != v {
				t.Errorf("%s/%s = %q, want %q", ctrl, f, got, v)
			}
		}
	}
	// Unlimited memory with swap unset lifts the swap limit too.
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}}); err != nil {
		t.Fatal(err)
	}
	if got := readBack(t, m.paths["memory"], "memory.memsw.limit_in_bytes"); !strings.HasPrefix(got, "-1") {
		t.Errorf("memsw after unlimited memory = %q", got)
	}
	// Controllers that are not mounted give ErrNotSupported, naming them.
	err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}})
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "hugetlb") {
		t.Fatalf("hugetlb not mounted: %v", err)
	}
	err = m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: ptr(uint16(100))}})
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("leaf weight without the file: %v", err)
	}
}

func TestStatsJSONShape(t *testing.T) {
	m := fakeV1(t, map[string]map[string]string{
		"cpuacct": {"cpuacct.usage": "3000", "cpuacct.usage_percpu": "1000 2000", "cpuacct.usage_percpu_sys": "10 20",
			"cpuacct.usage_percpu_user": "30 40", "cpuacct.usage_sys": "30", "cpuacct.usage_user": "70"},
		"cpu": {"cpu.stat": "nr_periods 5\nnr_throttled 2\nthrottled_time 900\n"},
		"memory": {"memory.stat": "cache 4096\nrss 8192\n", "memory.usage_in_bytes": "12288", "memory.max_usage_in_bytes": "20000",
			"memory.failcnt": "1", "memory.limit_in_bytes": "1048576", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"},
		"pids":  {"pids.current": "2", "pids.max": "max"},
		"blkio": {"blkio.throttle.io_service_bytes_recursive": "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n", "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n"},
	})
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage.Total != 3000 || st.CPU.Usage.User != 70 || len(st.CPU.Usage.Percpu) != 2 || st.CPU.Throttling.ThrottledTime != 900 {
		t.Errorf("cpu: %+v", st.CPU)
	}
	if st.Memory.Cache != 4096 || st.Memory.Usage.Usage != 12288 || st.Memory.Usage.Limit != 1048576 || st.Memory.Raw["rss"] != 8192 {
		t.Errorf("memory: %+v", st.Memory)
	}
	if st.Pids.Current != 2 || st.Pids.Limit != 0 {
		t.Errorf("pids: %+v", st.Pids)
	}
	if len(st.Blkio.IoServiceBytesRecursive) != 2 || st.Blkio.IoServiceBytesRecursive[1].Op != "Write" {
		t.Errorf("blkio: %+v", st.Blkio)
	}
	if n, err := m.OOMKillCount(); err != nil || n != 3 {
		t.Errorf("OOMKillCount = %d, %v", n, err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	for _, frag := range []string{`"usage":{"total":3000,"percpu":[1000,2000]`, `"throttling":{"periods":5,"throttledPeriods":2,"throttledTime":900}`,
		`"usage":{"limit":1048576,"usage":12288,"max":20000,"failcnt":1}`, `"pids":{"current":2}`, `"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":512}`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, b)
		}
	}
}

func TestStatsV2(t *testing.T) {
	d := fakeDir(t, map[string]string{
		"cpu.stat":       "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
		"memory.current": "4096", "memory.max": "max", "memory.stat": "anon 1024\nfile 2048\n", "memory.events": "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
		"memory.swap.current": "100", "memory.swap.max": "1000",
		"pids.current": "3", "pids.max": "64",
		"io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
	})
	m := &manager{mode: Unified, paths: map[string]string{"": d}}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage.Total != 10000 || st.CPU.Usage.Kernel != 4000 {
		t.Errorf("cpu: %+v", st.CPU.Usage)
	}
	if st.Memory.Cache != 2048 || st.Memory.Usage.Failcnt != 7 || st.Memory.Usage.Limit != ^uint64(0) || st.Memory.Swap.Usage != 4196 {
		t.Errorf("memory: %+v", st.Memory)
	}
	if st.Pids.Limit != 64 || len(st.Blkio.IoServicedRecursive) != 2 {
		t.Errorf("pids/io: %+v %+v", st.Pids, st.Blkio)
	}
	if n, err := m.OOMKillCount(); err != nil || n != 1 {
		t.Errorf("OOMKillCount = %d, %v", n, err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := State{Mode: Hybrid, Paths: map[string]string{"memory": "/sys/fs/cgroup/memory/x", "": "/sys/fs/cgroup/unified/x"},
		Created: map[string]string{"/sys/fs/cgroup/memory/x": "/sys/fs/cgroup/memory/x"}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mode":"hybrid"`) {
		t.Errorf("mode not by name: %s", b)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	m, err := Load(back)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.State(); got.Mode != Hybrid || got.Paths["memory"] != s.Paths["memory"] || got.Created["/sys/fs/cgroup/memory/x"] == "" {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []State{
		{Mode: 0, Paths: s.Paths},
		{Mode: Legacy},
		{Mode: Legacy, Paths: map[string]string{"memory": "relative"}},
		{Mode: Legacy, Paths: map[string]string{"memory": "/a/../b"}},
		{Mode: Unified, Paths: map[string]string{"memory": "/a"}},
	} {
		if _, err := Load(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Load(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"mode":"weird"}`), &back); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown mode name: %v", err)
	}
}
