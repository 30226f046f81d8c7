package distribution

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrInvalidReference   = errdefs.New(errdefs.ErrInvalidArgument, "invalid reference")
	ErrUnauthorized       = errdefs.New(errdefs.ErrUnauthenticated, "unauthorized")
	ErrUnreachable        = errdefs.New(errdefs.ErrUnavailable, "registry unreachable")
	ErrSchema1            = errdefs.New(errdefs.ErrInvalidArgument, "docker schema1 manifests are not supported")
	ErrUnsupportedMedia   = errdefs.New(errdefs.ErrInvalidArgument, "unsupported media type")
	ErrNoMatchingPlatform = errdefs.New(errdefs.ErrFailedPrecondition, "no matching platform")
	ErrCorruptBlob        = errdefs.New(errdefs.ErrDataLoss, "blob does not match its digest")
	ErrForeignLayer       = errdefs.New(errdefs.ErrFailedPrecondition, "foreign (non-distributable) layer")
	// ErrBadSize means a descriptor's size was refused (not positive, or
	// over the limit) or a server sent more than it declared.
	ErrBadSize = errdefs.New(errdefs.ErrInvalidArgument, "unacceptable blob size")
)

// PlatformError reports that an index holds no manifest for the wanted
// platform; it lists what is available. It matches ErrNoMatchingPlatform.
type PlatformError struct {
	Wanted    string
	Available []string
}

// Error implements error.
func (e *PlatformError) Error() string {
	return fmt.Sprintf("no matching platform for %s (available: %s)", e.Wanted, strings.Join(e.Available, ", "))
}

// Is makes errors.Is(err, ErrNoMatchingPlatform) true (and its kind,
// errdefs.ErrFailedPrecondition).
func (e *PlatformError) Is(target error) bool {
	return target == ErrNoMatchingPlatform || target == errdefs.ErrFailedPrecondition
}

// StatusError is an unexpected HTTP answer from a registry.
type StatusError struct {
	Op     string
	Status int
	Code   string // the registry's error code, e.g. MANIFEST_UNKNOWN
	Msg    string
}

// Error implements error.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Is maps HTTP statuses to the sentinel errors.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnauthorized, errdefs.ErrUnauthenticated:
		return e.Status == 401 || e.Status == 403
	case errdefs.ErrNotFound:
		return e.Status == 404
	}
	return false
}
