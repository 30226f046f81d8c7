package distribution

import (
	"fmt"

	"github.com/berth-dev/berth/errdefs"
)

// Errors callers branch on; test with errors.Is. Errors about references,
// platforms and manifests come from the reference, platforms and manifest
// packages.
var (
	ErrUnauthorized = errdefs.New(errdefs.ErrUnauthenticated, "unauthorized")
	ErrUnreachable  = errdefs.New(errdefs.ErrUnavailable, "registry unreachable")
	ErrCorruptBlob  = errdefs.New(errdefs.ErrDataLoss, "blob does not match its digest")
	ErrForeignLayer = errdefs.New(errdefs.ErrFailedPrecondition, "foreign (non-distributable) layer")
)

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
