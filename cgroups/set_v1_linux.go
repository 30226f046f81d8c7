package cgroups

import (
	"errors"
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setV1 writes r to the v1 hierarchies (and, in hybrid mode, hugetlb
// limits to the cgroup2 directory when v1 has no hugetlb hierarchy).
func (m *manager) setV1(r *specs.LinuxResources) error {
	if r.Memory != nil {
		d, err := m.need("memory", "memory limits")
		if err != nil {
			return err
		}
		if err := setMemoryV1(d, r.Memory); err != nil {
			return err
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil ||
			c.RealtimePeriod != nil || c.RealtimeRuntime != nil || c.Idle != nil {
			d, err := m.need("cpu", "cpu limits")
			if err != nil {
				return err
			}
			if err := setCPUV1(d, c); err != nil {
				return err
			}
		}
		if c.Cpus != "" || c.Mems != "" {
			d, err := m.need("cpuset", "cpu.cpus/mems")
			if err != nil {
				return err
			}
			if err := writeIf(c.Cpus != "", d, "cpuset.cpus", c.Cpus); err != nil {
				return err
			}
			if err := writeIf(c.Mems != "", d, "cpuset.mems", c.Mems); err != nil {
				return err
			}
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		d, err := m.need("pids", "pids.limit")
		if err != nil {
			return err
		}
		if err := writeFile(d, "pids.max", pidsMax(*r.Pids.Limit)); err != nil {
			return err
		}
	}
	if r.BlockIO != nil {
		if err := m.setBlkioV1(r.BlockIO); err != nil {
			return err
		}
	}
	if len(r.HugepageLimits) > 0 {
		if d := m.paths["hugetlb"]; d != "" {
			for _, h := range r.HugepageLimits {
				if err := writeFile(d, "hugetlb."+h.Pagesize+".limit_in_bytes", utoa(h.Limit)); err != nil {
					return err
				}
				if rsvd := "hugetlb." + h.Pagesize + ".rsvd.limit_in_bytes"; fileExists(d, rsvd) {
					if err := writeFile(d, rsvd, utoa(h.Limit)); err != nil {
						return err
					}
				}
			}
		} else if d := m.paths[""]; d != "" {
			if err := setHugetlbV2(d, r.HugepageLimits); err != nil {
				return err
			}
		} else {
			return unsupportedf("hugepage limits need the hugetlb controller, which is not mounted")
		}
	}
	if err := m.setNetworkV1(r.Network); err != nil {
		return err
	}
	if len(r.Devices) > 0 {
		d, err := m.need("devices", "device rules")
		if err != nil {
			return err
		}
		if err := setDevicesV1(d, r.Devices); err != nil {
			return err
		}
	}
	if len(r.Rdma) > 0 {
		d, err := m.need("rdma", "rdma")
		if err != nil {
			return err
		}
		if err := setRdma(d, r.Rdma); err != nil {
			return err
		}
	}
	if len(r.Unified) > 0 {
		// validate refuses this already; kept so setV1 never ignores it.
		return unsupportedf("unified resources need a pure cgroup v2 host, this host is %s", m.mode)
	}
	return nil
}

// setMemoryV1 writes the memory controller. memory.limit_in_bytes must
// never exceed memory.memsw.limit_in_bytes, so the order of the two writes
// depends on whether the swap limit grows or shrinks.
func setMemoryV1(d string, mem *specs.LinuxMemory) error {
	limit, swap := i64(mem.Limit), i64(mem.Swap)
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		if err := checkUsage(d, "memory.usage_in_bytes", limit); err != nil {
			return err
		}
	}
	if limit != 0 || swap != 0 {
		oldLimit, err := readFile(d, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		hasSwap := fileExists(d, "memory.memsw.limit_in_bytes")
		oldSwap := ""
		if hasSwap {
			if oldSwap, err = readFile(d, "memory.memsw.limit_in_bytes"); err != nil {
				return err
			}
		} else if swap > 0 && swap != limit {
			return unsupportedf("memory.swap needs swap accounting (memory.memsw.limit_in_bytes is missing)")
		}
		if limit == -1 && swap == 0 && hasSwap {
			// "Unlimited memory, swap unset" means both unlimited, as on
			// v2; otherwise the old memsw limit would refuse the write.
			swap = -1
		}
		if err := writeLimitSwapV1(d, limit, swap, hasSwap, oldSwap); err != nil {
			// Put back what was there, in the order that is always valid
			// when going back: swap (the larger) raised first.
			if hasSwap {
				_ = writeFile(d, "memory.memsw.limit_in_bytes", "-1")
			}
			_ = writeFile(d, "memory.limit_in_bytes", oldLimit)
			if hasSwap {
				_ = writeFile(d, "memory.memsw.limit_in_bytes", oldSwap)
			}
			if errors.Is(err, unix.EINVAL) && hasSwap && swap == 0 && limit > 0 {
				return invalidf("memory.limit %d is above the memory+swap limit %s: raise memory.swap too", limit, oldSwap)
			}
			return belowUsage(err, limit)
		}
	}
	if mem.Reservation != nil && *mem.Reservation != 0 {
		if err := writeFile(d, "memory.soft_limit_in_bytes", itoa(*mem.Reservation)); err != nil {
			return err
		}
	}
	if mem.KernelTCP != nil && *mem.KernelTCP != 0 {
		if err := writeFile(d, "memory.kmem.tcp.limit_in_bytes", itoa(*mem.KernelTCP)); err != nil {
			return err
		}
	}
	// memory.kernel (kmem.limit_in_bytes) is deprecated and rejected by
	// current kernels; like runc, Berth ignores it.
	if mem.Swappiness != nil {
		if err := writeFile(d, "memory.swappiness", utoa(*mem.Swappiness)); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
		if err := writeFile(d, "memory.oom_control", "1"); err != nil {
			return err
		}
	}
	return nil
}

// writeLimitSwapV1 writes the memory and memory+swap limits in an order
// that keeps memsw >= limit at every step.
func writeLimitSwapV1(d string, limit, swap int64, hasSwap bool, oldSwap string) error {
	if swap == 0 || !hasSwap {
		return writeIf(limit != 0, d, "memory.limit_in_bytes", itoa(limit))
	}
	swapFirst := swap == -1
	if !swapFirst {
		var cur uint64
		if _, err := fmt.Sscan(oldSwap, &cur); err != nil || uint64(swap) >= cur {
			swapFirst = true
		}
	}
	if swapFirst {
		if err := writeFile(d, "memory.memsw.limit_in_bytes", itoa(swap)); err != nil {
			return err
		}
		return writeIf(limit != 0, d, "memory.limit_in_bytes", itoa(limit))
	}
	if err := writeIf(limit != 0, d, "memory.limit_in_bytes", itoa(limit)); err != nil {
		return err
	}
	return writeFile(d, "memory.memsw.limit_in_bytes", itoa(swap))
}

// setCPUV1 writes the cpu controller: shares, CFS bandwidth, burst,
// realtime budget and idle.
func setCPUV1(d string, c *specs.LinuxCPU) error {
	if s := u64(c.Shares); s != 0 {
		if err := writeFile(d, "cpu.shares", utoa(s)); err != nil {
			return err
		}
	}
	if p := u64(c.Period); p != 0 {
		if err := writeFile(d, "cpu.cfs_period_us", utoa(p)); err != nil {
			// The new period may conflict with the old quota; the quota
			// below is written first then.
			if c.Quota == nil {
				return err
			}
			if err := writeFile(d, "cpu.cfs_quota_us", itoa(*c.Quota)); err != nil {
				return err
			}
			if err := writeFile(d, "cpu.cfs_period_us", utoa(p)); err != nil {
				return err
			}
		}
	}
	if q := i64(c.Quota); q != 0 {
		if err := writeFile(d, "cpu.cfs_quota_us", itoa(q)); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if !fileExists(d, "cpu.cfs_burst_us") {
			return unsupportedf("cpu.burst: the kernel has no cpu.cfs_burst_us")
		}
		if err := writeFile(d, "cpu.cfs_burst_us", utoa(*c.Burst)); err != nil {
			return err
		}
	}
	if p := u64(c.RealtimePeriod); p != 0 {
		if err := writeFile(d, "cpu.rt_period_us", utoa(p)); err != nil {
			return err
		}
	}
	if rt := i64(c.RealtimeRuntime); rt != 0 {
		if err := writeFile(d, "cpu.rt_runtime_us", itoa(rt)); err != nil {
			return fmt.Errorf("cpu.realtimeRuntime (the parent cgroup must have realtime budget to hand out): %w", err)
		}
	}
	if c.Idle != nil {
		if err := writeFile(d, "cpu.idle", itoa(*c.Idle)); err != nil {
			return err
		}
	}
	return nil
}

// setBlkioV1 writes blkio weights (CFQ or BFQ files, whichever the kernel
// has) and throttles.
func (m *manager) setBlkioV1(b *specs.LinuxBlockIO) error {
	empty := b.Weight == nil && b.LeafWeight == nil && len(b.WeightDevice) == 0 &&
		len(b.ThrottleReadBpsDevice) == 0 && len(b.ThrottleWriteBpsDevice) == 0 &&
		len(b.ThrottleReadIOPSDevice) == 0 && len(b.ThrottleWriteIOPSDevice) == 0
	if empty {
		return nil
	}
	d, err := m.need("blkio", "blockIO limits")
	if err != nil {
		return err
	}
	weightFile, weightDevFile := "blkio.weight", "blkio.weight_device"
	if !fileExists(d, weightFile) && fileExists(d, "blkio.bfq.weight") {
		weightFile, weightDevFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	needFile := func(f, what string) error {
		if !fileExists(d, f) {
			return unsupportedf("blockIO.%s: the kernel has no %s (no CFQ/BFQ I/O scheduler)", what, f)
		}
		return nil
	}
	if b.Weight != nil && *b.Weight != 0 {
		if err := needFile(weightFile, "weight"); err != nil {
			return err
		}
		if err := writeFile(d, weightFile, utoa(uint64(*b.Weight))); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if err := needFile("blkio.leaf_weight", "leafWeight"); err != nil {
			return err
		}
		if err := writeFile(d, "blkio.leaf_weight", utoa(uint64(*b.LeafWeight))); err != nil {
			return err
		}
	}
	for _, wd := range b.WeightDevice {
		dev := devNum(wd.Major, wd.Minor)
		if wd.Weight != nil {
			if err := needFile(weightDevFile, "weightDevice"); err != nil {
				return err
			}
			if err := writeFile(d, weightDevFile, dev+" "+utoa(uint64(*wd.Weight))); err != nil {
				return deviceErr("weightDevice", dev, err)
			}
		}
		if wd.LeafWeight != nil {
			if err := needFile("blkio.leaf_weight_device", "weightDevice.leafWeight"); err != nil {
				return err
			}
			if err := writeFile(d, "blkio.leaf_weight_device", dev+" "+utoa(uint64(*wd.LeafWeight))); err != nil {
				return deviceErr("weightDevice.leafWeight", dev, err)
			}
		}
	}
	for _, t := range []struct {
		what, file string
		devs       []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for _, td := range t.devs {
			dev := devNum(td.Major, td.Minor)
			if err := writeFile(d, t.file, dev+" "+utoa(td.Rate)); err != nil {
				return deviceErr(t.what, dev, err)
			}
		}
	}
	return nil
}

// deviceErr names the blockIO setting and device a write failed for, and
// explains the kernel's usual refusals.
func deviceErr(what, dev string, err error) error {
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		return unsupportedf("blockIO.%s %s: the device's I/O scheduler has no per-cgroup weights (it needs bfq): %v", what, dev, err)
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.EINVAL):
		return invalidf("blockIO.%s %s: no such block device on this host: %v", what, dev, err)
	}
	return fmt.Errorf("blockIO.%s %s: %w", what, dev, err)
}

// setNetworkV1 writes net_cls.classid and net_prio.ifpriomap.
func (m *manager) setNetworkV1(n *specs.LinuxNetwork) error {
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		d, err := m.need("net_cls", "network.classID")
		if err != nil {
			return err
		}
		if err := writeFile(d, "net_cls.classid", utoa(uint64(*n.ClassID))); err != nil {
			return err
		}
	}
	if len(n.Priorities) > 0 {
		d, err := m.need("net_prio", "network.priorities")
		if err != nil {
			return err
		}
		for _, p := range n.Priorities {
			if p.Name == "" || strings.ContainsAny(p.Name, " \n/") {
				return invalidf("network priority interface name %q", p.Name)
			}
			if err := writeFile(d, "net_prio.ifpriomap", p.Name+" "+utoa(uint64(p.Priority))); err != nil {
				return err
			}
		}
	}
	return nil
}

// setDevicesV1 writes the spec's device rules, in order, to devices.allow
// and devices.deny. A rule for some devices whose access names none of r,
// w and m changes nothing and is left out, as runc does.
func setDevicesV1(d string, rules []specs.LinuxDeviceCgroup) error {
	for _, r := range rules {
		wildcard := r.Type == "" || r.Type == "a"
		if !wildcard && r.Access != "" && deviceAccess(r.Access) == "" {
			continue
		}
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := writeFile(d, file, deviceRule(r)); err != nil {
			return err
		}
	}
	return nil
}

// deviceRule formats one rule as "type major:minor access"; unset or -1
// numbers are wildcards, an empty type is "a" and empty access "rwm"
// (else the access is deviceAccess's).
func deviceRule(r specs.LinuxDeviceCgroup) string {
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	num := func(p *int64) string {
		if p == nil || *p == -1 {
			return "*"
		}
		return itoa(*p)
	}
	access := "rwm"
	if r.Access != "" {
		access = deviceAccess(r.Access)
	}
	return typ + " " + num(r.Major) + ":" + num(r.Minor) + " " + access
}

// deviceAccess returns the letters r, w and m that access holds, in that
// order. Like runc, it reads access as a set: order and repetition do not
// matter and any other character is ignored ("rwa" is "rw").
func deviceAccess(access string) string {
	out := ""
	for _, c := range "rwm" {
		if strings.ContainsRune(access, c) {
			out += string(c)
		}
	}
	return out
}

// setRdma writes rdma.max, one line per HCA device (same format on v1 and
// v2).
func setRdma(d string, rdma map[string]specs.LinuxRdma) error {
	for dev, l := range rdma {
		if dev == "" || strings.ContainsAny(dev, " \n") {
			return invalidf("rdma device name %q", dev)
		}
		line := dev
		if l.HcaHandles != nil {
			line += " hca_handle=" + utoa(uint64(*l.HcaHandles))
		}
		if l.HcaObjects != nil {
			line += " hca_object=" + utoa(uint64(*l.HcaObjects))
		}
		if line == dev {
			continue
		}
		if err := writeFile(d, "rdma.max", line); err != nil {
			return err
		}
	}
	return nil
}
