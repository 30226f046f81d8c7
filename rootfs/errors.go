package rootfs

import (
	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalidMount marks a malformed entry in the spec (a relative
// destination, an unknown mount type for a cgroup, a bad device...).
var ErrInvalidMount = errdefs.New(errdefs.ErrInvalidArgument, "invalid mount configuration")

// ErrUnsafe marks a refused attempt to trick the runtime: a mount over
// /proc or /sys that is not procfs/sysfs, a /dev/null or /dev/console that
// is not what it claims to be, a target that changed under us.
var ErrUnsafe = errdefs.New(errdefs.ErrPermissionDenied, "unsafe rootfs operation refused")
