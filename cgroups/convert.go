package cgroups

import (
	"math"
	"strconv"
)

// The OCI spec is written in cgroup v1 terms. These functions translate
// its values to the cgroup v2 files, with the same meaning runc gives them.

// SharesToWeight converts v1 cpu.shares [2, 262144] to v2 cpu.weight
// [1, 10000]. It uses the mapping current runc and crun use, which keeps
// the defaults aligned (1024 shares is weight 100) and both ends fixed:
// weight = 10^((l² + 125·l)/612 − 7/34) rounded up, l = log2(shares).
// Zero means "unset" and stays zero.
func SharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	w := uint64(math.Ceil(math.Pow(10, exp)))
	if w > 10000 {
		w = 10000
	}
	return w
}

// BlkioWeightToIOWeight converts a v1 blkio weight [10, 1000] to a v2
// io.weight [1, 10000] linearly. Zero stays zero.
func BlkioWeightToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	if w < 10 {
		w = 10
	}
	return 1 + (uint64(w)-10)*9999/990
}

// SwapToV2 converts the OCI memory.swap value (memory plus swap, v1
// memsw semantics) to a v2 memory.swap.max value (swap alone), given the
// memory limit. -1 means unlimited; 0 means unset and writes nothing.
func SwapToV2(swap, limit int64) (int64, error) {
	switch {
	case limit == -1 && swap == 0:
		// Unlimited memory with swap unset: unlimited swap too, as on v1.
		return -1, nil
	case swap == -1 || swap == 0:
		return swap, nil
	case limit == -1:
		return swap, nil
	case limit == 0:
		return 0, invalidf("memory.swap %d needs a memory limit to be translated to cgroup v2", swap)
	case limit < 0:
		return 0, invalidf("memory.limit %d", limit)
	case swap < limit:
		return 0, invalidf("memory.swap %d is below memory.limit %d (swap counts memory plus swap)", swap, limit)
	}
	return swap - limit, nil
}

// maxOr formats a limit for a v2 file: -1 is "max".
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// CPUMax formats v2 cpu.max from the OCI quota and period (µs). A quota of
// 0 or -1 is "max"; a zero period is left to the kernel's current value.
// It returns "" when neither is set.
func CPUMax(quota int64, period uint64) string {
	if quota == 0 && period == 0 {
		return ""
	}
	s := "max"
	if quota > 0 {
		s = strconv.FormatInt(quota, 10)
	}
	if period != 0 {
		s += " " + strconv.FormatUint(period, 10)
	}
	return s
}

// pidsMax formats pids.max: a positive limit as is, 0 and -1 as "max".
func pidsMax(limit int64) string {
	if limit > 0 {
		return strconv.FormatInt(limit, 10)
	}
	return "max"
}
