package network

import "errors"

// Sentinel errors; the errors this package returns wrap one of them
// where a caller may branch.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrConflict        = errors.New("conflict")
)
