//go:build !linux

package seccomp

import (
	"github.com/berth-dev/berth/errdefs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotSupported is returned by Compile off Linux.
var ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "seccomp compilation needs linux")

// Compile is unavailable off Linux.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	return nil, ErrNotSupported
}
