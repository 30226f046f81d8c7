package runtime_test

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestResourcesAppliedAtCreate creates a container with every
// linux.resources field this host's v1 controllers (and the hybrid
// cgroup2 hierarchy, for hugetlb) support and reads each one back from the
// cgroup files of the container's init. Fields that depend on the kernel's
// build or boot options (swap accounting, CFS burst, RT group scheduling,
// 2 MB huge pages) are set only where a probe of the host finds them.
func TestResourcesAppliedAtCreate(t *testing.T) {
	e := newEnv(t)
	if _, ok := cgroupMounts(t)["memory"]; !ok {
		t.Skip("no cgroup v1 hierarchies (pure cgroup v2 host): cgroups.TestUnifiedPrivateMount covers v2")
	}
	maj, min := blockDevice(t)
	swap := hasCgroupFile(t, "memory", "memory.memsw.limit_in_bytes")
	burst := hasCgroupFile(t, "cpu", "cpu.cfs_burst_us")
	rt := hasCgroupFile(t, "cpu", "cpu.rt_runtime_us")
	huge := hugetlb2MB(t)
	t.Logf("host: swap accounting %v, cfs burst %v, rt group scheduling %v, 2MB hugetlb %v", swap, burst, rt, huge)
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		r := s.Linux.Resources
		r.Memory = &specs.LinuxMemory{
			Limit:             ptr(int64(64 << 20)),
			Reservation:       ptr(int64(32 << 20)),
			Swappiness:        ptr(uint64(30)),
			DisableOOMKiller:  ptr(true),
			CheckBeforeUpdate: ptr(true),
		}
		if swap {
			r.Memory.Swap = ptr(int64(96 << 20))
		}
		r.CPU = &specs.LinuxCPU{
			Shares: ptr(uint64(512)),
			Quota:  ptr(int64(50000)),
			Period: ptr(uint64(100000)),
			Cpus:   "0",
			Mems:   "0",
		}
		if burst {
			r.CPU.Burst = ptr(uint64(20000))
		}
		if rt {
			r.CPU.RealtimePeriod, r.CPU.RealtimeRuntime = ptr(uint64(100000)), ptr(int64(1000))
		}
		r.Pids = &specs.LinuxPids{Limit: ptr(int64(42))}
		r.BlockIO = &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 300}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 400}},
		}
		if huge {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
		}
	})
	id := e.id()
	e.must("create", "-b", b, id)
	pid := e.state(id).Pid
	dev := itoa(int(maj)) + ":" + itoa(int(min))

	wantCg(t, pid, "memory", "memory.limit_in_bytes", itoa(64<<20))
	wantCg(t, pid, "memory", "memory.soft_limit_in_bytes", itoa(32<<20))
	if swap {
		wantCg(t, pid, "memory", "memory.memsw.limit_in_bytes", itoa(96<<20))
	}
	wantCg(t, pid, "memory", "memory.swappiness", "30")
	if oc := cgFile(t, pid, "memory", "memory.oom_control"); !strings.Contains(oc, "oom_kill_disable 1") {
		t.Errorf("memory.oom_control: %q", oc)
	}
	wantCg(t, pid, "cpu", "cpu.shares", "512")
	wantCg(t, pid, "cpu", "cpu.cfs_quota_us", "50000")
	wantCg(t, pid, "cpu", "cpu.cfs_period_us", "100000")
	if burst {
		wantCg(t, pid, "cpu", "cpu.cfs_burst_us", "20000")
	}
	if rt {
		wantCg(t, pid, "cpu", "cpu.rt_period_us", "100000")
		wantCg(t, pid, "cpu", "cpu.rt_runtime_us", "1000")
	}
	wantCg(t, pid, "cpuset", "cpuset.cpus", "0")
	wantCg(t, pid, "cpuset", "cpuset.mems", "0")
	wantCg(t, pid, "pids", "pids.max", "42")
	wantCg(t, pid, "blkio", "blkio.throttle.read_bps_device", dev+" "+itoa(1<<20))
	wantCg(t, pid, "blkio", "blkio.throttle.write_bps_device", dev+" "+itoa(2<<20))
	wantCg(t, pid, "blkio", "blkio.throttle.read_iops_device", dev+" 300")
	wantCg(t, pid, "blkio", "blkio.throttle.write_iops_device", dev+" 400")
	switch {
	case !huge:
	case cgroupDir(t, pid, "hugetlb") != "":
		wantCg(t, pid, "hugetlb", "hugetlb.2MB.limit_in_bytes", itoa(4<<20))
	default:
		wantCg(t, pid, "", "hugetlb.2MB.max", itoa(4<<20))
		if _, err := os.Stat(cgroupDir(t, pid, "") + "/hugetlb.2MB.rsvd.max"); err == nil {
			wantCg(t, pid, "", "hugetlb.2MB.rsvd.max", itoa(4<<20))
		}
	}
	e.must("delete", id)
}

// TestResourcesCPUIdle sets cpu.idle, which the kernel refuses together
// with cpu.shares, in a container of its own.
func TestResourcesCPUIdle(t *testing.T) {
	e := newEnv(t)
	if !hasCgroupFile(t, "cpu", "cpu.idle") {
		t.Skip("kernel has no cpu.idle")
	}
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		s.Linux.Resources.CPU = &specs.LinuxCPU{Idle: ptr(int64(1))}
	})
	id := e.id()
	e.must("create", "-b", b, id)
	wantCg(t, e.state(id).Pid, "cpu", "cpu.idle", "1")
}

// TestResourcesBlockIOWeight sets the blkio weight and a per-device weight.
// What it expects comes from a probe of the host made the way the code
// probes: a fresh blkio cgroup has CFQ's or BFQ's weight files only when
// one of those schedulers is in the kernel, and a per-device weight also
// needs the device's I/O scheduler to be bfq (or cfq). Where the host lacks
// either, create must fail with a one-line error naming the setting and
// leave nothing behind.
func TestResourcesBlockIOWeight(t *testing.T) {
	e := newEnv(t)
	maj, min := blockDevice(t)
	dev := itoa(int(maj)) + ":" + itoa(int(min))
	weightFile, weightDevFile := blkioWeightFiles(t)
	weighted := false
	if s, err := os.ReadFile("/sys/dev/block/" + dev + "/queue/scheduler"); err == nil {
		weighted = strings.Contains(string(s), "[bfq]") || strings.Contains(string(s), "[cfq]")
	}
	t.Logf("host: weight file %q, weight_device file %q, %s scheduler weighted: %v", weightFile, weightDevFile, dev, weighted)
	t.Run("weight", func(t *testing.T) {
		e := e.sub(t)
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: ptr(uint16(300))}
		})
		id := e.id()
		if weightFile == "" {
			oneLine(t, e.fails("blockIO.weight: the kernel has no blkio.weight", "create", "-b", b, id))
			e.noState(id)
			return
		}
		e.must("create", "-b", b, id)
		wantCg(t, e.state(id).Pid, "blkio", weightFile, "300")
		e.must("delete", id)
	})
	t.Run("weightDevice", func(t *testing.T) {
		e := e.sub(t)
		b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{
				WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Weight: ptr(uint16(200))}},
			}
		})
		id := e.id()
		switch {
		case weightDevFile == "":
			oneLine(t, e.fails("blockIO.weightDevice: the kernel has no blkio.weight_device", "create", "-b", b, id))
			e.noState(id)
		case !weighted:
			oneLine(t, e.fails("blockIO.weightDevice "+dev, "create", "-b", b, id))
			e.noState(id)
		default:
			e.must("create", "-b", b, id)
			if got := cgFile(t, e.state(id).Pid, "blkio", weightDevFile); !strings.Contains(got, dev+" 200") {
				t.Errorf("%s: %q", weightDevFile, got)
			}
			e.must("delete", id)
		}
	})
	t.Run("noSuchDevice", func(t *testing.T) {
		e := e.sub(t)
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			s.Linux.Resources.BlockIO = &specs.LinuxBlockIO{
				ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 4095, Minor: 4095}, Rate: 1}},
			}
		})
		id := e.id()
		r := e.fails("blockIO.throttleReadBpsDevice 4095:4095", "create", "-b", b, id)
		t.Log(r.err)
		oneLine(t, r)
		e.noState(id)
	})
}

// TestResourcesDevices denies /dev/zero: the container cannot open it,
// while /dev/null (a default device) still works.
func TestResourcesDevices(t *testing.T) {
	e := newEnv(t)
	out := e.runOut([]string{"sh", "-c", "head -c1 /dev/zero >/dev/null 2>&1 && echo zero-open || echo zero-denied; echo x > /dev/null && echo null-ok"}, func(s *specs.Spec) {
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
			specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "rwm"})
	})
	if out != "zero-denied\nnull-ok\n" {
		t.Fatalf("got %q", out)
	}
}

// TestResourcesUnsupportedOnThisHost checks that settings this host's
// hierarchy cannot serve fail at create with a one-line error naming them,
// leaving no state, cgroup or process behind.
func TestResourcesUnsupportedOnThisHost(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct {
		skipIf string // controller whose presence makes the setting valid
		want   string
		mod    func(r *specs.LinuxResources)
	}{
		"unified": {want: "unified", mod: func(r *specs.LinuxResources) {
			r.Unified = map[string]string{"memory.high": "100000000"}
		}},
		"classID": {skipIf: "net_cls", want: "network.classID", mod: func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001))}
		}},
		"priorities": {skipIf: "net_prio", want: "network.priorities", mod: func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 5}}}
		}},
		"rdma": {skipIf: "rdma", want: "rdma", mod: func(r *specs.LinuxResources) {
			r.Rdma = map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr(uint32(3))}}
		}},
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("pure cgroup v2 host: unified is supported")
	}
	mounts := cgroupMounts(t)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := e.sub(t)
			if _, ok := mounts[c.skipIf]; ok && c.skipIf != "" {
				t.Skipf("host has %s", c.skipIf)
			}
			b := e.bundle([]string{"true"}, func(s *specs.Spec) { c.mod(s.Linux.Resources) })
			id := e.id()
			r := e.fails(c.want, "create", "-b", b, id)
			t.Log(r.err)
			oneLine(t, r)
			e.noState(id)
		})
	}
}

// oneLine fails the test unless a command's error output is one line.
func oneLine(t *testing.T, r result) {
	t.Helper()
	if s := strings.TrimSpace(r.err); s == "" || strings.Contains(s, "\n") {
		t.Fatalf("error is not one line: %q", r.err)
	}
}

// TestResourcesNestedCgroupsPath uses an absolute two-level cgroupsPath:
// limits land in the inner directory, update and pause find it again, and
// delete removes both levels (the leak check sees any left).
func TestResourcesNestedCgroupsPath(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	path := "/" + id + "/inner"
	b := e.bundle([]string{"sleep", "300"}, func(s *specs.Spec) {
		s.Linux.CgroupsPath = path
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(32 << 20))}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(10))}
	})
	e.must("run", "-d", "-b", b, id)
	pid := e.state(id).Pid
	for _, c := range []string{"memory", "pids", "freezer"} {
		if d := cgroupDir(t, pid, c); !strings.HasSuffix(d, path) {
			t.Errorf("%s cgroup of the init is %s, want one ending in %s", c, d, path)
		}
	}
	wantCg(t, pid, "memory", "memory.limit_in_bytes", itoa(32<<20))
	e.must("update", "--pids-limit", "20", id)
	wantCg(t, pid, "pids", "pids.max", "20")
	e.must("pause", id)
	wantCg(t, pid, "freezer", "freezer.state", "FROZEN")
	e.must("resume", id)
	e.must("delete", "--force", id)
	e.noState(id)
}

// TestResourcesInvalidAtCreate: impossible values fail create with a
// one-line error naming the setting, and leave no state, cgroup or process.
func TestResourcesInvalidAtCreate(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct {
		want string
		mod  func(r *specs.LinuxResources)
	}{
		"cpus outside the host": {`cpu.cpus "99"`, func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Cpus: "99"} }},
		"bad cpu list":          {"cpu.cpus", func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Cpus: "1-0"} }},
		"mems outside the host": {"cpu.mems", func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Mems: "7"} }},
		"negative pids":         {"pids.limit -3", func(r *specs.LinuxResources) { r.Pids = &specs.LinuxPids{Limit: ptr(int64(-3))} }},
		"shares":                {"cpu.shares 1", func(r *specs.LinuxResources) { r.CPU = &specs.LinuxCPU{Shares: ptr(uint64(1))} }},
		"swappiness":            {"memory.swappiness 200", func(r *specs.LinuxResources) { r.Memory = &specs.LinuxMemory{Swappiness: ptr(uint64(200))} }},
		"swap below limit": {"memory.swap", func(r *specs.LinuxResources) {
			r.Memory = &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(32 << 20))}
		}},
		"hugepage size": {"hugepage size", func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}
		}},
		"device rule type": {"device rule type", func(r *specs.LinuxResources) {
			r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Type: "x", Access: "r"})
		}},
		"realtime above period": {"realtimeRuntime", func(r *specs.LinuxResources) {
			r.CPU = &specs.LinuxCPU{RealtimeRuntime: ptr(int64(2000)), RealtimePeriod: ptr(uint64(1000))}
		}},
	}
	for name, c := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			e := e.sub(t)
			b := e.bundle([]string{"true"}, func(s *specs.Spec) { c.mod(s.Linux.Resources) })
			id := e.id()
			r := e.fails(c.want, "create", "-b", b, id)
			oneLine(t, r)
			e.noState(id)
		})
	}
}
