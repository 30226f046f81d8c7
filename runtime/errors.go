package runtime

import "errors"

// Errors callers branch on; test with errors.Is.
var (
	// ErrInvalidID is returned for a container ID that is not allowed.
	ErrInvalidID = errors.New("invalid container id")
	// ErrNotExist is returned when no container has the ID.
	ErrNotExist = errors.New("container does not exist")
	// ErrExist is returned when creating a container whose ID is taken.
	ErrExist = errors.New("container already exists")
	// ErrInvalidConfig is returned for a config.json that cannot be run.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrWrongState is returned when an operation is not allowed in the
	// container's current state.
	ErrWrongState = errors.New("container is not in the right state")
	// ErrNotSupported is returned for configurations this host or this
	// runtime cannot honour.
	ErrNotSupported = errors.New("not supported")
)
