package capabilities

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostLastCap returns the highest capability the running kernel knows,
// from /proc/sys/kernel/cap_last_cap.
func HostLastCap() (Cap, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 8)
	if err != nil || n > 63 {
		return 0, fmt.Errorf("parse cap_last_cap %q: invalid value", strings.TrimSpace(string(b)))
	}
	return Cap(n), nil
}
