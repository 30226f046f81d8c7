package cgroups

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setV2 writes r to a cgroup2 directory, translating the spec's v1-style
// values. Kernel memory, swappiness and disableOOMKiller have no v2 file
// and are ignored, as runc does.
func setV2(d string, r *specs.LinuxResources) error {
	if r.Memory != nil {
		if err := setMemoryV2(d, r.Memory); err != nil {
			return err
		}
	}
	if r.CPU != nil {
		if err := setCPUV2(d, r.CPU); err != nil {
			return err
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		if err := writeV2(d, "pids.max", pidsMax(*r.Pids.Limit)); err != nil {
			return err
		}
	}
	if r.BlockIO != nil {
		if err := setIOV2(d, r.BlockIO); err != nil {
			return err
		}
	}
	if err := setHugetlbV2(d, r.HugepageLimits); err != nil {
		return err
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return unsupportedf("network classID/priorities are cgroup v1 only (net_cls/net_prio)")
	}
	if len(r.Devices) > 0 {
		if err := setDevicesV2(d, r.Devices); err != nil {
			return err
		}
	}
	if len(r.Rdma) > 0 {
		if err := setRdma(d, r.Rdma); err != nil {
			return err
		}
	}
	return setUnified(d, r.Unified)
}

// writeV2 writes a cgroup2 file, turning a missing file into an
// ErrNotSupported error naming the controller that is not enabled.
func writeV2(d, file, value string) error {
	err := writeFile(d, file, value)
	if err != nil && errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%w: %s is missing in %s (controller not enabled)", ErrNotSupported, file, d)
	}
	return err
}

// setMemoryV2 writes memory.max, memory.swap.max (memory+swap minus
// memory) and memory.low (the reservation).
func setMemoryV2(d string, mem *specs.LinuxMemory) error {
	limit := i64(mem.Limit)
	swap, err := SwapToV2(i64(mem.Swap), limit)
	if err != nil {
		return err
	}
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		if err := checkUsage(d, "memory.current", limit); err != nil {
			return err
		}
	}
	if swap != 0 {
		if err := writeV2(d, "memory.swap.max", maxOr(swap)); err != nil {
			// Without swap accounting "no swap limit" is already true.
			if !errors.Is(err, ErrNotSupported) || swap != -1 {
				return err
			}
		}
	}
	if limit != 0 {
		if err := writeV2(d, "memory.max", maxOr(limit)); err != nil {
			return belowUsage(err, limit)
		}
	}
	if res := i64(mem.Reservation); res != 0 {
		if err := writeV2(d, "memory.low", maxOr(res)); err != nil {
			return err
		}
	}
	return nil
}

// setCPUV2 writes cpu.weight (from shares), cpu.max, cpu.max.burst,
// cpu.idle and the cpuset lists.
func setCPUV2(d string, c *specs.LinuxCPU) error {
	if w := SharesToWeight(u64(c.Shares)); w != 0 {
		if err := writeV2(d, "cpu.weight", utoa(w)); err != nil {
			return err
		}
	}
	if s := CPUMax(i64(c.Quota), u64(c.Period)); s != "" {
		if err := writeV2(d, "cpu.max", s); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := writeV2(d, "cpu.max.burst", utoa(*c.Burst)); err != nil {
			return err
		}
	}
	if c.Idle != nil {
		if err := writeV2(d, "cpu.idle", itoa(*c.Idle)); err != nil {
			return err
		}
	}
	if c.Cpus != "" {
		if err := writeV2(d, "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		if err := writeV2(d, "cpuset.mems", c.Mems); err != nil {
			return err
		}
	}
	return nil
}

// setIOV2 writes io weights (io.bfq.weight with the v1 value when BFQ is
// present, else io.weight with the converted value) and io.max throttles.
func setIOV2(d string, b *specs.LinuxBlockIO) error {
	bfq := fileExists(d, "io.bfq.weight")
	if b.Weight != nil && *b.Weight != 0 {
		var err error
		if bfq {
			err = writeV2(d, "io.bfq.weight", utoa(uint64(*b.Weight)))
		} else {
			err = writeV2(d, "io.weight", "default "+utoa(BlkioWeightToIOWeight(*b.Weight)))
		}
		if err != nil {
			return err
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		return unsupportedf("blockIO.leafWeight has no cgroup v2 equivalent")
	}
	for _, wd := range b.WeightDevice {
		if wd.LeafWeight != nil && *wd.LeafWeight != 0 {
			return unsupportedf("blockIO.weightDevice.leafWeight has no cgroup v2 equivalent")
		}
		if wd.Weight == nil {
			continue
		}
		var err error
		if bfq {
			err = writeV2(d, "io.bfq.weight", devNum(wd.Major, wd.Minor)+" "+utoa(uint64(*wd.Weight)))
		} else {
			err = writeV2(d, "io.weight", devNum(wd.Major, wd.Minor)+" "+utoa(BlkioWeightToIOWeight(*wd.Weight)))
		}
		if err != nil {
			return err
		}
	}
	for _, t := range []struct {
		key  string
		devs []specs.LinuxThrottleDevice
	}{
		{"rbps", b.ThrottleReadBpsDevice},
		{"wbps", b.ThrottleWriteBpsDevice},
		{"riops", b.ThrottleReadIOPSDevice},
		{"wiops", b.ThrottleWriteIOPSDevice},
	} {
		for _, td := range t.devs {
			v := utoa(td.Rate)
			if td.Rate == 0 {
				v = "max"
			}
			if err := writeV2(d, "io.max", devNum(td.Major, td.Minor)+" "+t.key+"="+v); err != nil {
				return err
			}
		}
	}
	return nil
}

// setHugetlbV2 writes hugetlb.<size>.max, and the same limit to
// hugetlb.<size>.rsvd.max where the kernel has it, so that reserved but
// not yet faulted pages count too.
func setHugetlbV2(d string, limits []specs.LinuxHugepageLimit) error {
	for _, h := range limits {
		if err := writeV2(d, "hugetlb."+h.Pagesize+".max", utoa(h.Limit)); err != nil {
			return err
		}
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"; fileExists(d, rsvd) {
			if err := writeFile(d, rsvd, utoa(h.Limit)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setUnified writes the spec's raw cgroup2 key/values. Keys were checked
// by validateUnifiedKey; a key naming no file is an unknown key.
func setUnified(d string, kv map[string]string) error {
	for k, v := range kv {
		if err := writeFile(d, k, v); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return invalidf("unified key %q: no such cgroup file (unknown key or controller not enabled)", k)
			}
			return fmt.Errorf("unified key %q: %w", k, err)
		}
	}
	return nil
}
