package runtime

import (
	"github.com/berth-dev/berth/errdefs"
)

// Errors callers branch on; test with errors.Is.
var (
	// ErrInvalidID is returned for a container ID that is not allowed.
	ErrInvalidID = errdefs.New(errdefs.ErrInvalidArgument, "invalid container id")
	// ErrNotExist is returned when no container has the ID.
	ErrNotExist = errdefs.New(errdefs.ErrNotFound, "container does not exist")
	// ErrExist is returned when creating a container whose ID is taken.
	ErrExist = errdefs.New(errdefs.ErrAlreadyExists, "container already exists")
	// ErrInvalidConfig is returned for a config.json that cannot be run.
	ErrInvalidConfig = errdefs.New(errdefs.ErrInvalidArgument, "invalid configuration")
	// ErrWrongState is returned when an operation is not allowed in the
	// container's current state.
	ErrWrongState = errdefs.New(errdefs.ErrFailedPrecondition, "container is not in the right state")
	// ErrNotSupported is returned for configurations this host or this
	// runtime cannot honour.
	ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "not supported")
)
