//go:build !cgo || !linux

package seccomp

import (
	"github.com/berth-dev/berth/errdefs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotSupported is returned by Compile in builds without libseccomp.
var ErrNotSupported = errdefs.New(errdefs.ErrNotImplemented, "seccomp compilation needs cgo and libseccomp on linux")

// Compile is unavailable without cgo; see the linux cgo build.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	return nil, ErrNotSupported
}
