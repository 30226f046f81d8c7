package cgroups

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// validate checks r against the spec's rules and the host: CPUs and memory
// nodes must be online and hugepage sizes must exist.
func validate(r *specs.LinuxResources, mode Mode) error {
	if r == nil {
		return nil
	}
	if err := validateStatic(r, mode); err != nil {
		return err
	}
	if r.CPU != nil && r.CPU.Cpus != "" {
		online, err := readFile("/sys/devices/system/cpu", "online")
		if err != nil {
			return fmt.Errorf("check cpu.cpus: %w", err)
		}
		if err := checkSubset("cpu.cpus", r.CPU.Cpus, online); err != nil {
			return err
		}
	}
	if r.CPU != nil && r.CPU.Mems != "" {
		online, err := readFile("/sys/devices/system/node", "online")
		if err != nil {
			online = "0" // no NUMA support: node 0 only
		}
		if err := checkSubset("cpu.mems", r.CPU.Mems, online); err != nil {
			return err
		}
	}
	if len(r.HugepageLimits) > 0 {
		sizes := hugePageSizes()
		for _, h := range r.HugepageLimits {
			kb, _ := pageSizeKB(h.Pagesize)
			if !sizes[kb] {
				return invalidf("hugepage size %s is not supported by this host", h.Pagesize)
			}
		}
	}
	return nil
}

// hugePageSizes lists the host's hugepage sizes in kibibytes.
func hugePageSizes() map[uint64]bool {
	out := map[uint64]bool{}
	ents, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, ok = strings.CutSuffix(n, "kB")
		if !ok {
			continue
		}
		var kb uint64
		if _, err := fmt.Sscan(n, &kb); err == nil {
			out[kb] = true
		}
	}
	return out
}

// Validate checks r as a runtime applying it on this host would, before
// anything is made: impossible values fail with ErrInvalid, what the
// host's cgroup layout cannot do with ErrNotSupported.
func Validate(r *specs.LinuxResources) error {
	return validate(r, DetectMode())
}
