package cgroups

import (
	"errors"
	"fmt"
)

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalid marks a resource value or cgroup path that cannot be
	// applied: negative or impossible numbers, CPUs or memory nodes the host
	// does not have, a memory limit below current usage, unknown or unsafe
	// unified keys.
	ErrInvalid = errors.New("invalid cgroup configuration")
	// ErrNotSupported marks a request the host's cgroup hierarchy cannot
	// serve, such as a controller that is not mounted or enabled.
	ErrNotSupported = errors.New("not supported by the cgroup hierarchy")
	// ErrSystemdUnavailable is returned for systemd-style cgroup paths
	// ("slice:prefix:name") and for Config.Systemd: Berth has no systemd
	// cgroup driver.
	ErrSystemdUnavailable = errors.New("systemd cgroup driver is not available")
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
