package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/seccomp/load"
)

// FlagTsync is the name of SECCOMP_FILTER_FLAG_TSYNC, which the runtime
// spec does not define but which runtimes accept.
const FlagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// ParseFlags turns the spec's flag names into SECCOMP_FILTER_FLAG_* bits.
func ParseFlags(names []specs.LinuxSeccompFlag) (uint, error) {
	var f uint
	for _, n := range names {
		switch n {
		case FlagTsync:
			f |= load.FlagTsync
		case specs.LinuxSeccompFlagLog:
			f |= load.FlagLog
		case specs.LinuxSeccompFlagSpecAllow:
			f |= load.FlagSpecAllow
		case specs.LinuxSeccompFlagWaitKillableRecv:
			f |= load.FlagWaitKillableRecv
		default:
			return 0, fmt.Errorf("%w: unknown seccomp flag %q", ErrInvalid, n)
		}
	}
	return f, nil
}
