package cgroups

import (
	"fmt"

	"github.com/berth-dev/berth/errdefs"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalid marks a resource value or cgroup path that cannot be
	// applied: negative or impossible numbers, CPUs or memory nodes the host
	// does not have, a memory limit below current usage, unknown or unsafe
	// unified keys.
	ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "invalid cgroup configuration")
	// ErrNotSupported marks a request the host's cgroup hierarchy cannot
	// serve, such as a controller that is not mounted or enabled.
	ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "not supported by the cgroup hierarchy")
	// ErrSystemdUnavailable is returned for systemd-style cgroup paths
	// ("slice:prefix:name") and for Config.Systemd: Berth has no systemd
	// cgroup driver.
	ErrSystemdUnavailable = errdefs.New(errdefs.ErrUnavailable, "systemd cgroup driver is not available")
)

// invalidf returns an error wrapping ErrInvalid with a message that names
// the offending setting.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// unsupportedf returns an error wrapping ErrNotSupported.
func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotSupported, fmt.Sprintf(format, args...))
}
