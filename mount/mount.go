// Package mount performs mounts described as mount(8) takes them: the
// mounts a snapshotter returns, applied by archive, images, the shim and
// the builder. Linux only, apart from the Mount type.
package mount

import (
	"github.com/berth-dev/berth/errdefs"
)

// ErrInvalid is returned for mounts that cannot be performed as given.
var ErrInvalid = errdefs.New(errdefs.ErrInvalidArgument, "mount: invalid argument")

// Mount is one mount to perform, as mount(8) would take it.
type Mount struct {
	Type    string
	Source  string
	Target  string
	Options []string
}
