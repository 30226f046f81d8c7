// Package notify hands a seccomp user-notification listener fd to the
// agent named by the container's listenerPath, as the runtime spec
// describes: one message on a unix stream socket carrying the container
// process state as JSON and the fd as SCM_RIGHTS. It is pure Go and runs
// in berth-runtime once berth-init has passed the fd back.
package notify

import (
	"encoding/json"
	"fmt"
	"net"

	"github.com/berth-dev/berth/errdefs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FdName is the name of the listener fd in ContainerProcessState.Fds.
const FdName = "seccompFd"

// ErrNoListener is returned when there is nothing to send to: an empty
// listener path or no fd.
var ErrNoListener = errdefs.New(errdefs.ErrFailedPrecondition, "no seccomp listener")

// NewState returns the container process state to send with the fd of
// the container's process pid.
func NewState(pid int, metadata string, state specs.State) specs.ContainerProcessState {
	return specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{FdName},
		Pid:      pid,
		Metadata: metadata,
		State:    state,
	}
}

// SendListener connects to the unix socket at path and sends state as
// JSON with fd attached. The fd stays owned by the caller, which closes
// it afterwards. state.Fds is set to name the one fd sent.
func SendListener(path string, fd int, state specs.ContainerProcessState) error {
	if path == "" || fd < 0 {
		return fmt.Errorf("send seccomp listener (path %q, fd %d): %w", path, fd, ErrNoListener)
	}
	state.Fds = []string{FdName}
	if state.Version == "" {
		state.Version = specs.Version
	}
	b, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode container process state: %w", err)
	}
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("connect to seccomp listener %s: %w", path, err)
	}
	defer conn.Close()
	n, oobn, err := conn.WriteMsgUnix(b, unix.UnixRights(fd), nil)
	if err != nil {
		return fmt.Errorf("send seccomp listener fd to %s: %w", path, err)
	}
	if n != len(b) || oobn == 0 {
		return fmt.Errorf("send seccomp listener fd to %s: short write (%d of %d bytes)", path, n, len(b))
	}
	return nil
}
