package capabilities

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// lastCap caches HostLastCap's answer: the kernel's does not change.
var lastCap struct {
	once sync.Once
	cap  Cap
	err  error
}

// HostLastCap returns the highest capability the running kernel knows,
// from /proc/sys/kernel/cap_last_cap, or, where that file cannot be read
// (a container whose /proc is not mounted yet or is masked), by asking
// the kernel which bounding-set entries exist. The answer is cached, so
// a container's init can ask before its rlimits apply and not again.
func HostLastCap() (Cap, error) {
	lastCap.once.Do(func() { lastCap.cap, lastCap.err = hostLastCap() })
	return lastCap.cap, lastCap.err
}

func hostLastCap() (Cap, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 8)
		if perr != nil || n > 63 {
			return 0, fmt.Errorf("parse cap_last_cap %q: invalid value", strings.TrimSpace(string(b)))
		}
		return Cap(n), nil
	}
	last, perr := probeLastCap()
	if perr != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w; probe: %w", err, perr)
	}
	return last, nil
}

// probeLastCap binary-searches the highest c for which
// prctl(PR_CAPBSET_READ, c) does not fail with EINVAL.
func probeLastCap() (Cap, error) {
	if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, 0, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("prctl PR_CAPBSET_READ: %w", err)
	}
	lo, hi := 0, 63 // lo is known valid
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(mid), 0, 0, 0); err == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return Cap(lo), nil
}
