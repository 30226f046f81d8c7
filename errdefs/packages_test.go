package errdefs_test

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/lsm"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/seccomp/load"
	"github.com/berth-dev/berth/seccomp/notify"
	"github.com/berth-dev/berth/specgen"
	"github.com/berth-dev/berth/sysctl"
)

// TestRuntimeSideSentinelsHaveKinds checks that the runtime side's
// sentinel errors speak the one vocabulary: each wraps its kind, so a
// front end maps them without knowing the package.
func TestRuntimeSideSentinelsHaveKinds(t *testing.T) {
	for _, tc := range []struct {
		err, kind error
	}{
		{runtime.ErrNotExist, errdefs.ErrNotFound},
		{runtime.ErrExist, errdefs.ErrAlreadyExists},
		{runtime.ErrInvalidID, errdefs.ErrInvalidArgument},
		{runtime.ErrInvalidConfig, errdefs.ErrInvalidArgument},
		{runtime.ErrWrongState, errdefs.ErrFailedPrecondition},
		{runtime.ErrNotSupported, errdefs.ErrNotImplemented},
		{rootfs.ErrInvalidMount, errdefs.ErrInvalidArgument},
		{rootfs.ErrUnsafe, errdefs.ErrPermissionDenied},
		{sysctl.ErrInvalidKey, errdefs.ErrInvalidArgument},
		{sysctl.ErrNamespaceRequired, errdefs.ErrInvalidArgument},
		{capabilities.ErrUnknown, errdefs.ErrInvalidArgument},
		{capabilities.ErrNotHeld, errdefs.ErrPermissionDenied},
		{cgroups.ErrInvalid, errdefs.ErrInvalidArgument},
		{cgroups.ErrNotSupported, errdefs.ErrNotImplemented},
		{lsm.ErrInvalid, errdefs.ErrInvalidArgument},
		{load.ErrInvalid, errdefs.ErrInvalidArgument},
		{notify.ErrNoListener, errdefs.ErrFailedPrecondition},
		{specgen.ErrInvalid, errdefs.ErrInvalidArgument},
		{mount.ErrInvalid, errdefs.ErrInvalidArgument},
	} {
		if !errors.Is(tc.err, tc.kind) {
			t.Errorf("%q is not %q", tc.err, tc.kind)
		}
		if got := errdefs.Kind(tc.err); got != tc.kind {
			t.Errorf("Kind(%q) = %v, want %q", tc.err, got, tc.kind)
		}
	}
}
