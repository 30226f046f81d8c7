package cgroups

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// validateStatic checks everything in r that does not depend on the host.
// Zero values mean "unset" where the OCI spec and runc treat them so.
func validateStatic(r *specs.LinuxResources, mode Mode) error {
	if r == nil {
		return nil
	}
	if err := validateMemory(r.Memory, mode); err != nil {
		return err
	}
	if err := validateCPU(r.CPU, mode); err != nil {
		return err
	}
	if r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit < -1 {
		return invalidf("pids.limit %d is negative", *r.Pids.Limit)
	}
	if err := validateBlockIO(r.BlockIO); err != nil {
		return err
	}
	for _, d := range r.Devices {
		if err := validateDeviceRule(d); err != nil {
			return err
		}
	}
	for _, h := range r.HugepageLimits {
		if _, ok := pageSizeKB(h.Pagesize); !ok {
			return invalidf("hugepage size %q (want e.g. 2MB or 1GB)", h.Pagesize)
		}
	}
	for k := range r.Unified {
		if err := validateUnifiedKey(k); err != nil {
			return err
		}
	}
	if len(r.Unified) > 0 && mode != Unified {
		// As runc: on v1 and hybrid hosts the limits live in v1 files, and
		// raw cgroup2 keys would bypass them.
		return unsupportedf("unified resources need a pure cgroup v2 host, this host is %s", mode)
	}
	return nil
}

func validateMemory(mem *specs.LinuxMemory, mode Mode) error {
	if mem == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"limit", mem.Limit}, {"reservation", mem.Reservation}, {"swap", mem.Swap},
		{"kernel", mem.Kernel}, //nolint:staticcheck // deprecated, still validated as runc does
		{"kernelTCP", mem.KernelTCP},
	} {
		if f.v != nil && *f.v < -1 {
			return invalidf("memory.%s %d is negative", f.name, *f.v)
		}
	}
	if mem.Swappiness != nil && *mem.Swappiness > 100 {
		return invalidf("memory.swappiness %d is above 100", *mem.Swappiness)
	}
	limit, swap := int64(0), int64(0)
	if mem.Limit != nil {
		limit = *mem.Limit
	}
	if mem.Swap != nil {
		swap = *mem.Swap
	}
	if limit > 0 && swap > 0 && swap < limit {
		return invalidf("memory.swap %d is below memory.limit %d (swap counts memory plus swap)", swap, limit)
	}
	if mode == Unified && swap > 0 {
		if _, err := SwapToV2(swap, limit); err != nil {
			return err
		}
	}
	return nil
}

func validateCPU(c *specs.LinuxCPU, mode Mode) error {
	if c == nil {
		return nil
	}
	if c.Shares != nil && *c.Shares != 0 && (*c.Shares < 2 || *c.Shares > 262144) {
		return invalidf("cpu.shares %d is outside [2, 262144]", *c.Shares)
	}
	if c.Quota != nil && (*c.Quota < -1 || (*c.Quota > 0 && *c.Quota < 1000)) {
		return invalidf("cpu.quota %d must be -1 (unlimited) or at least 1000µs", *c.Quota)
	}
	if c.Period != nil && *c.Period != 0 && (*c.Period < 1000 || *c.Period > 1000000) {
		return invalidf("cpu.period %d is outside [1000, 1000000]µs", *c.Period)
	}
	if c.Burst != nil && c.Quota != nil && *c.Quota > 0 && *c.Burst > uint64(*c.Quota) {
		return invalidf("cpu.burst %d is above cpu.quota %d", *c.Burst, *c.Quota)
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime < -1 {
		return invalidf("cpu.realtimeRuntime %d is negative", *c.RealtimeRuntime)
	}
	if c.RealtimeRuntime != nil && c.RealtimePeriod != nil && *c.RealtimeRuntime > 0 &&
		uint64(*c.RealtimeRuntime) > *c.RealtimePeriod && *c.RealtimePeriod != 0 {
		return invalidf("cpu.realtimeRuntime %d is above cpu.realtimePeriod %d", *c.RealtimeRuntime, *c.RealtimePeriod)
	}
	if mode == Unified && ((c.RealtimeRuntime != nil && *c.RealtimeRuntime > 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0)) {
		return unsupportedf("cpu realtime runtime/period has no cgroup v2 equivalent")
	}
	if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
		return invalidf("cpu.idle %d must be 0 or 1", *c.Idle)
	}
	if _, err := parseList(c.Cpus); err != nil {
		return invalidf("cpu.cpus: %v", err)
	}
	if _, err := parseList(c.Mems); err != nil {
		return invalidf("cpu.mems: %v", err)
	}
	return nil
}

func validateBlockIO(b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	weight := func(what string, w *uint16) error {
		if w != nil && *w != 0 && (*w < 10 || *w > 1000) {
			return invalidf("blockIO.%s %d is outside [10, 1000]", what, *w)
		}
		return nil
	}
	if err := weight("weight", b.Weight); err != nil {
		return err
	}
	if err := weight("leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for _, d := range b.WeightDevice {
		if d.Major < 0 || d.Minor < 0 {
			return invalidf("blockIO.weightDevice %d:%d has a negative number", d.Major, d.Minor)
		}
		if err := weight("weightDevice.weight", d.Weight); err != nil {
			return err
		}
		if err := weight("weightDevice.leafWeight", d.LeafWeight); err != nil {
			return err
		}
	}
	for _, list := range [][]specs.LinuxThrottleDevice{b.ThrottleReadBpsDevice, b.ThrottleWriteBpsDevice, b.ThrottleReadIOPSDevice, b.ThrottleWriteIOPSDevice} {
		for _, d := range list {
			if d.Major < 0 || d.Minor < 0 {
				return invalidf("blockIO throttle device %d:%d has a negative number", d.Major, d.Minor)
			}
		}
	}
	return nil
}

func validateDeviceRule(d specs.LinuxDeviceCgroup) error {
	switch d.Type {
	case "", "a", "b", "c":
	default:
		return invalidf("device rule type %q (want a, b or c)", d.Type)
	}
	if (d.Major != nil && *d.Major < -1) || (d.Minor != nil && *d.Minor < -1) {
		return invalidf("device rule has a negative device number")
	}
	return nil
}

// forbiddenUnified are cgroup2 core files a resource map must not write:
// they move processes or change the tree's shape, not limits.
var forbiddenUnified = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.subtree_control": true,
	"cgroup.kill": true, "cgroup.type": true, "cgroup.freeze": true,
}

// validateUnifiedKey refuses keys that could name a file outside the
// container's cgroup or that are not "<controller>.<name>" limit files.
func validateUnifiedKey(k string) error {
	if k == "" || strings.ContainsAny(k, "/\x00") || strings.Contains(k, "..") {
		return invalidf("unified key %q must be a plain file name", k)
	}
	if !strings.Contains(k, ".") || strings.HasPrefix(k, ".") {
		return invalidf("unified key %q is not a <controller>.<file> name", k)
	}
	if forbiddenUnified[k] {
		return invalidf("unified key %q is not a resource limit", k)
	}
	return nil
}

// pageSizeKB parses a hugepage size such as "2MB", "1GB" or "64KB" into
// kibibytes.
func pageSizeKB(s string) (uint64, bool) {
	units := []struct {
		suffix string
		mul    uint64
	}{{"KB", 1}, {"MB", 1 << 10}, {"GB", 1 << 20}, {"TB", 1 << 30}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok && n != "" {
			var v uint64
			for _, c := range n {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + uint64(c-'0')
				if v > 1<<40 {
					return 0, false
				}
			}
			if v == 0 {
				return 0, false
			}
			return v * u.mul, true
		}
	}
	return 0, false
}

// pageSizeName names a hugepage size in kibibytes the way the hugetlb
// controller's files do ("2MB", "1GB").
func pageSizeName(kb uint64) string {
	switch {
	case kb >= 1<<20 && kb%(1<<20) == 0:
		return uitoa(kb>>20) + "GB"
	case kb >= 1<<10 && kb%(1<<10) == 0:
		return uitoa(kb>>10) + "MB"
	}
	return uitoa(kb) + "KB"
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}
