// Package errdefs is Berth's one error vocabulary: the kinds of failure
// callers branch on, whatever package reports them. Every package's
// sentinel errors wrap one of these kinds (New, or fmt.Errorf with %w), so
// errors.Is(err, ErrNotFound) holds for a missing blob, image, snapshot or
// namespace alike, and front ends (gRPC, later HTTP) map kinds to their
// status codes in one place.
package errdefs

import (
	"errors"
)

// The kinds of error; test with errors.Is.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrUnavailable        = errors.New("unavailable")
	ErrConflict           = errors.New("conflict")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrDataLoss           = errors.New("data loss")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrNotImplemented     = errors.New("not implemented")
)

// New returns a sentinel error with its own message that matches kind
// under errors.Is, for packages that name a more precise error
// (e.g. "blob does not match its digest", a kind of ErrDataLoss).
func New(kind error, msg string) error { return &sentinel{msg: msg, kind: kind} }

type sentinel struct {
	msg  string
	kind error
}

// Error implements error.
func (e *sentinel) Error() string { return e.msg }

// Unwrap returns the kind.
func (e *sentinel) Unwrap() error { return e.kind }

// Kind returns the kind err matches, or nil when it matches none.
func Kind(err error) error {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// kinds lists the kinds in the order Kind tries them: an error that
// matches several (a corrupt blob that is also oversized) takes the first.
var kinds = []error{
	ErrUnauthenticated, ErrPermissionDenied, ErrUnavailable, ErrFailedPrecondition,
	ErrNotFound, ErrAlreadyExists, ErrConflict, ErrDataLoss, ErrInvalidArgument,
	ErrResourceExhausted, ErrNotImplemented,
}
