package cgroups

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// saved is one value a Set is about to overwrite: the content of a
// one-value file, or one device's line of a per-device file.
type saved struct {
	dir, file, value string
}

// snapshotV1 records the current values of every v1 file r will write,
// so that a Set the kernel refuses half-way can be undone. Device rules,
// rdma and net_prio maps are not recorded (they cannot be read back as
// writes).
func (m *manager) snapshotV1(r *specs.LinuxResources) []saved {
	var out []saved
	add := func(controller string, files ...string) {
		d := m.paths[controller]
		if d == "" {
			return
		}
		for _, f := range files {
			if v, err := readFile(d, f); err == nil {
				out = append(out, saved{d, f, v})
			}
		}
	}
	if mem := r.Memory; mem != nil {
		add("memory", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
			"memory.kmem.tcp.limit_in_bytes", "memory.swappiness")
		if d := m.paths["memory"]; d != "" && mem.DisableOOMKiller != nil {
			if kv, err := readKeyValues(d, "memory.oom_control"); err == nil {
				out = append(out, saved{d, "memory.oom_control", utoa(kv["oom_kill_disable"])})
			}
		}
	}
	if c := r.CPU; c != nil {
		add("cpu", "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us",
			"cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle")
		if c.Cpus != "" || c.Mems != "" {
			add("cpuset", "cpuset.cpus", "cpuset.mems")
		}
	}
	if r.Pids != nil {
		add("pids", "pids.max")
	}
	if b := r.BlockIO; b != nil {
		add("blkio", "blkio.weight", "blkio.bfq.weight", "blkio.leaf_weight")
		if d := m.paths["blkio"]; d != "" {
			for file, devs := range map[string][]specs.LinuxThrottleDevice{
				"blkio.throttle.read_bps_device":   b.ThrottleReadBpsDevice,
				"blkio.throttle.write_bps_device":  b.ThrottleWriteBpsDevice,
				"blkio.throttle.read_iops_device":  b.ThrottleReadIOPSDevice,
				"blkio.throttle.write_iops_device": b.ThrottleWriteIOPSDevice,
			} {
				out = append(out, savedDevices(d, file, devs)...)
			}
		}
	}
	if len(r.HugepageLimits) > 0 {
		if d := m.paths["hugetlb"]; d != "" {
			for _, h := range r.HugepageLimits {
				add("hugetlb", "hugetlb."+h.Pagesize+".limit_in_bytes", "hugetlb."+h.Pagesize+".rsvd.limit_in_bytes")
			}
		} else if d := m.paths[""]; d != "" {
			for _, h := range r.HugepageLimits {
				add("", "hugetlb."+h.Pagesize+".max", "hugetlb."+h.Pagesize+".rsvd.max")
			}
		}
	}
	if n := r.Network; n != nil && n.ClassID != nil {
		add("net_cls", "net_cls.classid")
	}
	return out
}

// savedDevices records one line per device of a v1 throttle file; a
// device without a line is restored with rate 0, which removes its rule.
func savedDevices(d, file string, devs []specs.LinuxThrottleDevice) []saved {
	if len(devs) == 0 {
		return nil
	}
	content, err := readFile(d, file)
	if err != nil {
		return nil
	}
	cur := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			cur[f[0]] = f[1]
		}
	}
	var out []saved
	for _, td := range devs {
		dev := devNum(td.Major, td.Minor)
		v, ok := cur[dev]
		if !ok {
			v = "0"
		}
		out = append(out, saved{d, file, dev + " " + v})
	}
	return out
}

// restore writes saved values back, last first. Some pairs of files
// constrain each other (CFS period and quota, realtime period and
// runtime, memory and memory+swap), so writes that fail are tried once
// more after the others.
func restore(s []saved) {
	var failed []saved
	for i := len(s) - 1; i >= 0; i-- {
		if writeFile(s[i].dir, s[i].file, s[i].value) != nil {
			failed = append(failed, s[i])
		}
	}
	for _, f := range failed {
		_ = writeFile(f.dir, f.file, f.value)
	}
}

// snapshotV2 records the current values of the cgroup2 files r will
// write (see snapshotV1). io.max lines are recorded per device; a device
// without a line is restored as unlimited.
func snapshotV2(d string, r *specs.LinuxResources) []saved {
	var out []saved
	add := func(files ...string) {
		for _, f := range files {
			if v, err := readFile(d, f); err == nil && !strings.Contains(v, "\n") {
				out = append(out, saved{d, f, v})
			}
		}
	}
	if r.Memory != nil {
		add("memory.swap.max", "memory.max", "memory.low")
	}
	if c := r.CPU; c != nil {
		add("cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle")
		if c.Cpus != "" || c.Mems != "" {
			add("cpuset.cpus", "cpuset.mems")
		}
	}
	if r.Pids != nil {
		add("pids.max")
	}
	if b := r.BlockIO; b != nil {
		add("io.bfq.weight")
		if v, err := readFile(d, "io.weight"); err == nil {
			for _, line := range strings.Split(v, "\n") {
				if strings.HasPrefix(line, "default ") {
					out = append(out, saved{d, "io.weight", line})
				}
			}
		}
		out = append(out, savedIOMax(d, b)...)
	}
	for _, h := range r.HugepageLimits {
		add("hugetlb."+h.Pagesize+".max", "hugetlb."+h.Pagesize+".rsvd.max")
	}
	for k := range r.Unified {
		add(k)
	}
	return out
}

// savedIOMax records the io.max line of every device r throttles.
func savedIOMax(d string, b *specs.LinuxBlockIO) []saved {
	content, err := readFile(d, "io.max")
	if err != nil {
		return nil
	}
	cur := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if dev, _, ok := strings.Cut(line, " "); ok {
			cur[dev] = line
		}
	}
	var out []saved
	seen := map[string]bool{}
	for _, list := range [][]specs.LinuxThrottleDevice{b.ThrottleReadBpsDevice, b.ThrottleWriteBpsDevice, b.ThrottleReadIOPSDevice, b.ThrottleWriteIOPSDevice} {
		for _, td := range list {
			dev := devNum(td.Major, td.Minor)
			if seen[dev] {
				continue
			}
			seen[dev] = true
			line, ok := cur[dev]
			if !ok {
				line = dev + " rbps=max wbps=max riops=max wiops=max"
			}
			out = append(out, saved{d, "io.max", line})
		}
	}
	return out
}
