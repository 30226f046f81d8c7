package archive

import "github.com/berth-dev/berth/errdefs"

// Errors callers branch on; test with errors.Is.
var (
	// ErrUnsafePath means an entry (or a hardlink target) names a path
	// outside the root, such as "../x".
	ErrUnsafePath = errdefs.New(errdefs.ErrInvalidArgument, "archive: path escapes the root")
	// ErrDeviceNotAllowed means a device node entry was refused.
	ErrDeviceNotAllowed = errdefs.New(errdefs.ErrInvalidArgument, "archive: device nodes not allowed")
	// ErrUnsupportedEntry means a tar entry of a kind that cannot be unpacked.
	ErrUnsupportedEntry = errdefs.New(errdefs.ErrInvalidArgument, "archive: unsupported tar entry")
	// ErrOverwrite means an entry would replace a directory with a
	// non-directory or the reverse, refused by NoOverwriteDirNonDir.
	ErrOverwrite = errdefs.New(errdefs.ErrConflict, "archive: directory and non-directory")
)

// WhiteoutMode says how whiteout entries (".wh.<name>" and the opaque
// marker ".wh..wh..opq") are applied.
type WhiteoutMode int

const (
	// WhiteoutDelete applies whiteouts by deleting what they hide: for the
	// copy (native) snapshotter and plain directories.
	WhiteoutDelete WhiteoutMode = iota
	// WhiteoutOverlay converts whiteouts to overlayfs form in an upper
	// directory: a 0:0 character device and the opaque xattr.
	WhiteoutOverlay
)

// DeviceMode says what to do with character and block device entries.
type DeviceMode int

const (
	// DevicesDefault creates devices when running as root outside
	// rootless mode and skips them otherwise.
	DevicesDefault DeviceMode = iota
	// DevicesAllow always tries to create devices.
	DevicesAllow
	// DevicesSkip silently skips device entries.
	DevicesSkip
	// DevicesReject fails the unpack with ErrDeviceNotAllowed.
	DevicesReject
)

// ApplyOptions tunes Apply. The zero value unpacks like containerd as
// root, applying whiteouts by deletion.
type ApplyOptions struct {
	Whiteouts WhiteoutMode
	Devices   DeviceMode
	// Rootless runs in a user namespace (also detected automatically):
	// devices are skipped by default, ownership changes the namespace
	// cannot map and xattrs it may not set (security.*, trusted.*) are
	// ignored, and overlay whiteouts use the user.overlay.* xattrs (for
	// overlay mounted with userxattr, as the overlay snapshotter does in a
	// user namespace).
	Rootless bool
	// NoSameOwner leaves every file owned by the caller.
	NoSameOwner bool
	// Sync flushes the filesystem (syncfs) before returning.
	Sync bool
	// NoOverwriteDirNonDir refuses an entry that would replace a
	// directory with a non-directory or the reverse (ErrOverwrite).
	NoOverwriteDirNonDir bool
}

func (o ApplyOptions) devicesAllowed(euid int) (allow bool, reject bool) {
	switch o.Devices {
	case DevicesAllow:
		return true, false
	case DevicesSkip:
		return false, false
	case DevicesReject:
		return false, true
	default:
		return euid == 0 && !o.Rootless, false
	}
}

func (o ApplyOptions) overlayXattr(name string) string {
	if o.Rootless {
		return "user.overlay." + name
	}
	return "trusted.overlay." + name
}
