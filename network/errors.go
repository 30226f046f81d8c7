package network

import "github.com/berth-dev/berth/errdefs"

// Sentinel errors; the errors this package returns wrap one of them
// where a caller may branch. They are errdefs' kinds themselves, so a
// front end maps them like any other package's.
var (
	ErrNotFound        = errdefs.ErrNotFound
	ErrAlreadyExists   = errdefs.ErrAlreadyExists
	ErrInvalidArgument = errdefs.ErrInvalidArgument
	ErrConflict        = errdefs.ErrConflict
	ErrNotSupported    = errdefs.ErrNotImplemented
)
