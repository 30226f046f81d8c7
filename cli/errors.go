package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc/status"
)

var errNoDaemon = errors.New("cannot connect to berthd")

// Explain turns an error into one line that says what to do, by its
// errdefs kind (a daemon's status maps back to one, see api.FromStatus).
func Explain(err error) string {
	if err == nil {
		return ""
	}
	err = api.FromStatus(err)
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	msg = oneLine(msg)
	switch {
	case errors.Is(err, errdefs.ErrUnavailable) && strings.Contains(msg, "container networking"):
		return msg + ": install containernetworking-plugins or set [network] plugin_dirs in /etc/berth/config.toml"
	case errors.Is(err, errdefs.ErrUnavailable):
		if strings.Contains(msg, "registry unreachable") {
			return msg + ": is the registry running? for plain HTTP add it to registry.insecure in /etc/berth/config.toml"
		}
		if transportFailure(msg) {
			return "cannot reach berthd: " + msg + ": is berthd running? (see --address)"
		}
	case errors.Is(err, errdefs.ErrUnauthenticated):
		return msg + ": run berth login " + hostOf(msg)
	case errors.Is(err, errdefs.ErrNotFound) && strings.Contains(msg, "no such container"):
		return msg + ": berth ps -a lists the containers"
	case errors.Is(err, errdefs.ErrNotFound) && strings.Contains(msg, "no such network"):
		return msg + ": berth network ls lists the networks"
	case errors.Is(err, errdefs.ErrNotFound) && strings.HasPrefix(msg, "copy "):
		return msg
	case errors.Is(err, errdefs.ErrNotFound):
		if strings.Contains(msg, "MANIFEST_UNKNOWN") || strings.Contains(msg, "resolve") {
			return "manifest unknown: " + msg + ": check the repository and tag"
		}
		if strings.Contains(msg, "image") {
			return msg + ": check the name (berth images lists what is here)"
		}
	case errors.Is(err, errdefs.ErrFailedPrecondition):
		if strings.Contains(msg, "no matching platform") {
			return msg + ": choose one with --platform"
		}
	case errors.Is(err, errdefs.ErrResourceExhausted):
		return "disk full: " + msg + ": free space under berthd's root (berth rmi, berth gc)"
	case errors.Is(err, errdefs.ErrDataLoss):
		return msg + ": the data was rejected and nothing was stored; retry or check the registry or mirror"
	case errors.Is(err, errdefs.ErrInvalidArgument):
		if strings.Contains(msg, "schema1") {
			return msg + ": re-push the image with a current Docker or buildkit (schema 2 or OCI)"
		}
		if strings.Contains(msg, "limit for a layer") {
			return msg + ": if the image is trusted, raise registry.max_layer_size_mb in /etc/berth/config.toml"
		}
	case errors.Is(err, context.Canceled):
		return "cancelled: " + msg
	}
	return msg
}

// transportFailure tells gRPC's own failures to reach or keep a connection
// (the client makes these, with code Unavailable) from berthd's answers of
// kind unavailable, such as a container that would not die.
func transportFailure(msg string) bool {
	for _, s := range []string{"connection error", "transport: ", "transport is closing", "error reading from server", "connection refused"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// hostOf picks the registry host out of a message such as
// "resolve 127.0.0.1:5000/x:y: unauthorized".
func hostOf(msg string) string {
	for _, f := range strings.Fields(msg) {
		f = strings.TrimSuffix(f, ":")
		if i := strings.IndexByte(f, '/'); i > 0 && strings.ContainsAny(f[:i], ".:") {
			return f[:i]
		}
	}
	return "HOST"
}

// usageError reports a bad command line.
func usageError(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}
