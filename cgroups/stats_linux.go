package cgroups

import (
	"fmt"
	"math"
	"os"
	"strings"
)

// Stats reads the container's counters from every hierarchy it has.
func (m *manager) Stats() (*Stats, error) {
	st := &Stats{Hugetlb: map[string]Hugetlb{}}
	r := &statReader{}
	if m.mode == Unified {
		statsV2(r, m.paths[""], st)
	} else {
		m.statsV1(r, st)
	}
	if r.err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", r.err)
	}
	return st, nil
}

// statsV1 fills st from the v1 hierarchies (hugetlb from cgroup2 in
// hybrid mode when v1 has no hugetlb hierarchy).
func (m *manager) statsV1(r *statReader, st *Stats) {
	if d := m.paths["cpuacct"]; d != "" {
		u := &st.CPU.Usage
		u.Total = r.uint(d, "cpuacct.usage", 0)
		u.Percpu = r.list(d, "cpuacct.usage_percpu")
		if fileExists(d, "cpuacct.usage_user") {
			u.PercpuKernel = r.list(d, "cpuacct.usage_percpu_sys")
			u.PercpuUser = r.list(d, "cpuacct.usage_percpu_user")
			u.Kernel = r.uint(d, "cpuacct.usage_sys", 0)
			u.User = r.uint(d, "cpuacct.usage_user", 0)
		} else if kv := r.kv(d, "cpuacct.stat"); kv != nil {
			// USER_HZ ticks; the kernel fixes USER_HZ at 100 for this file.
			u.Kernel = kv["system"] * 1e7
			u.User = kv["user"] * 1e7
		}
	}
	if kv := r.kv(m.paths["cpu"], "cpu.stat"); kv != nil {
		st.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	}
	if d := m.paths["cpuset"]; d != "" {
		cs := &st.CPUSet
		cs.CPUs = r.cpuList(d, "cpuset.cpus")
		cs.Mems = r.cpuList(d, "cpuset.mems")
		cs.CPUExclusive = r.uint(d, "cpuset.cpu_exclusive", 0)
		cs.MemExclusive = r.uint(d, "cpuset.mem_exclusive", 0)
		cs.MemHardwall = r.uint(d, "cpuset.mem_hardwall", 0)
		cs.MemoryMigrate = r.uint(d, "cpuset.memory_migrate", 0)
		cs.MemorySpreadPage = r.uint(d, "cpuset.memory_spread_page", 0)
		cs.MemorySpreadSlab = r.uint(d, "cpuset.memory_spread_slab", 0)
		cs.MemoryPressure = r.uint(d, "cpuset.memory_pressure", 0)
		cs.SchedLoadBalance = r.uint(d, "cpuset.sched_load_balance", 0)
		if s, err := readFile(d, "cpuset.sched_relax_domain_level"); r.keep(err) {
			_, _ = fmt.Sscan(s, &cs.SchedRelaxDomainLevel) // a value it cannot parse stays 0
		}
	}
	if d := m.paths["memory"]; d != "" {
		mem := &st.Memory
		mem.Raw = r.kv(d, "memory.stat")
		mem.Cache = mem.Raw["cache"]
		entry := func(prefix string) MemoryEntry {
			if !fileExists(d, prefix+"usage_in_bytes") {
				return MemoryEntry{}
			}
			return MemoryEntry{
				Limit:   r.uint(d, prefix+"limit_in_bytes", 0),
				Usage:   r.uint(d, prefix+"usage_in_bytes", 0),
				Max:     r.uint(d, prefix+"max_usage_in_bytes", 0),
				Failcnt: r.uint(d, prefix+"failcnt", 0),
			}
		}
		mem.Usage = entry("memory.")
		mem.Swap = entry("memory.memsw.")
		mem.Kernel = entry("memory.kmem.")
		mem.KernelTCP = entry("memory.kmem.tcp.")
	}
	if d := m.paths["pids"]; d != "" {
		st.Pids = Pids{Current: r.uint(d, "pids.current", 0), Limit: r.uint(d, "pids.max", 0)}
	}
	if d := m.paths["blkio"]; d != "" {
		st.Blkio = blkioV1(r, d)
	}
	if d := m.paths["hugetlb"]; d != "" {
		for _, size := range hugePageNames() {
			p := "hugetlb." + size + "."
			st.Hugetlb[size] = Hugetlb{
				Usage:   r.uint(d, p+"usage_in_bytes", 0),
				Max:     r.uint(d, p+"max_usage_in_bytes", 0),
				Failcnt: r.uint(d, p+"failcnt", 0),
			}
		}
	} else if d := m.paths[""]; d != "" {
		hugetlbV2(r, d, st)
	}
}

// blkioV1 reads the CFQ statistics, else BFQ's, else the throttling
// layer's, taking the first family that has any entries (as runc does).
func blkioV1(r *statReader, d string) Blkio {
	var b Blkio
	if fileExists(d, "blkio.io_serviced_recursive") {
		b = Blkio{
			SectorsRecursive:        r.blkio(d, "blkio.sectors_recursive"),
			IoServiceBytesRecursive: r.blkio(d, "blkio.io_service_bytes_recursive"),
			IoServicedRecursive:     r.blkio(d, "blkio.io_serviced_recursive"),
			IoQueuedRecursive:       r.blkio(d, "blkio.io_queued_recursive"),
			IoServiceTimeRecursive:  r.blkio(d, "blkio.io_service_time_recursive"),
			IoWaitTimeRecursive:     r.blkio(d, "blkio.io_wait_time_recursive"),
			IoMergedRecursive:       r.blkio(d, "blkio.io_merged_recursive"),
			IoTimeRecursive:         r.blkio(d, "blkio.time_recursive"),
		}
		if len(b.IoServicedRecursive) > 0 {
			return b
		}
	}
	if fileExists(d, "blkio.bfq.io_serviced_recursive") {
		b = Blkio{
			IoServiceBytesRecursive: r.blkio(d, "blkio.bfq.io_service_bytes_recursive"),
			IoServicedRecursive:     r.blkio(d, "blkio.bfq.io_serviced_recursive"),
		}
		if len(b.IoServicedRecursive) > 0 {
			return b
		}
	}
	return Blkio{
		IoServiceBytesRecursive: r.blkio(d, "blkio.throttle.io_service_bytes_recursive"),
		IoServicedRecursive:     r.blkio(d, "blkio.throttle.io_serviced_recursive"),
	}
}

// statsV2 fills st from a cgroup2 directory.
func statsV2(r *statReader, d string, st *Stats) {
	if kv := r.kv(d, "cpu.stat"); kv != nil {
		st.CPU.Usage.Total = kv["usage_usec"] * 1000
		st.CPU.Usage.User = kv["user_usec"] * 1000
		st.CPU.Usage.Kernel = kv["system_usec"] * 1000
		st.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	}
	if fileExists(d, "cpuset.cpus.effective") {
		st.CPUSet.CPUs = r.cpuList(d, "cpuset.cpus.effective")
		st.CPUSet.Mems = r.cpuList(d, "cpuset.mems.effective")
	}
	if fileExists(d, "memory.current") {
		mem := &st.Memory
		mem.Raw = r.kv(d, "memory.stat")
		mem.Cache = mem.Raw["file"]
		ev := r.kv(d, "memory.events")
		mem.Usage = MemoryEntry{
			Usage:   r.uint(d, "memory.current", 0),
			Limit:   r.uint(d, "memory.max", math.MaxUint64),
			Failcnt: ev["max"],
		}
		if fileExists(d, "memory.peak") {
			mem.Usage.Max = r.uint(d, "memory.peak", 0)
		}
		// Report swap as memory+swap, the v1 meaning tools expect.
		if fileExists(d, "memory.swap.current") {
			swapEv := r.kv(d, "memory.swap.events")
			mem.Swap = MemoryEntry{
				Usage:   r.uint(d, "memory.swap.current", 0) + mem.Usage.Usage,
				Limit:   addSat(r.uint(d, "memory.swap.max", math.MaxUint64), mem.Usage.Limit),
				Failcnt: swapEv["fail"],
			}
		}
	}
	if fileExists(d, "pids.current") {
		st.Pids = Pids{Current: r.uint(d, "pids.current", 0), Limit: r.uint(d, "pids.max", 0)}
	}
	if kv := ioStat(r, d); kv != nil {
		st.Blkio = *kv
	}
	hugetlbV2(r, d, st)
}

// addSat adds without wrapping past math.MaxUint64.
func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// ioStat reads io.stat ("maj:min rbytes=… wbytes=… rios=… wios=…") into
// runc's blkio shape.
func ioStat(r *statReader, d string) *Blkio {
	s, err := readFile(d, "io.stat")
	if !r.keep(err) {
		return nil
	}
	b := &Blkio{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := parseDev(f[0])
		if !ok {
			continue
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var n uint64
			if _, err := fmt.Sscan(v, &n); err != nil {
				continue
			}
			e := BlkioEntry{Major: maj, Minor: min, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	return b
}

// hugetlbV2 reads hugetlb.<size>.current and the "max" event count.
func hugetlbV2(r *statReader, d string, st *Stats) {
	for _, size := range hugePageNames() {
		p := "hugetlb." + size + "."
		if !fileExists(d, p+"current") {
			continue
		}
		ev := r.kv(d, p+"events")
		st.Hugetlb[size] = Hugetlb{Usage: r.uint(d, p+"current", 0), Failcnt: ev["max"]}
	}
}

// hugePageNames lists the host's hugepage sizes as the hugetlb controller
// names them.
func hugePageNames() []string {
	var out []string
	ents, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		var kb uint64
		if _, err := fmt.Sscanf(n, "%dkB", &kb); err == nil {
			out = append(out, pageSizeName(kb))
		}
	}
	return out
}

// OOMKillCount reads the oom_kill counter (memory.oom_control on v1,
// memory.events on v2).
func (m *manager) OOMKillCount() (uint64, error) {
	var kv map[string]uint64
	var err error
	if m.mode == Unified {
		kv, err = readKeyValues(m.paths[""], "memory.events")
	} else {
		d := m.paths["memory"]
		if d == "" {
			return 0, unsupportedf("oom kill count needs the memory controller, which is not mounted")
		}
		kv, err = readKeyValues(d, "memory.oom_control")
	}
	if err != nil {
		if isNotExist(err) {
			return 0, unsupportedf("oom kill count: %v", err)
		}
		return 0, fmt.Errorf("oom kill count: %w", err)
	}
	return kv["oom_kill"], nil
}

// UnderOOM reads under_oom from memory.oom_control (v1).
func (m *manager) UnderOOM() (bool, error) {
	if m.mode == Unified {
		return false, nil
	}
	d := m.paths["memory"]
	if d == "" {
		return false, unsupportedf("oom state needs the memory controller, which is not mounted")
	}
	kv, err := readKeyValues(d, "memory.oom_control")
	if err != nil {
		return false, fmt.Errorf("oom state: %w", err)
	}
	return kv["under_oom"] == 1, nil
}
