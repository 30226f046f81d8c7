package rootfs

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOpts is a spec mount's option list split the way mount(8) does:
// flags for mount(2), propagation changes, recursive attributes for
// mount_setattr(2), and whatever is left as filesystem data.
type mountOpts struct {
	flags     uintptr   // MS_* flags requested
	cleared   uintptr   // MS_* flags explicitly cleared ("rw", "suid", "dev", ...)
	propagate []uintptr // propagation changes, applied in order after the mount
	recAttr   unix.MountAttr
	idmap     bool // "idmap" or "ridmap"
	idmapRec  bool // "ridmap"
	data      []string
}

// flagOpt is one entry of the mount option table.
type flagOpt struct {
	clear bool
	flag  uintptr
}

// atimeFlags are the mount flags that select the atime behaviour.
const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NODIRATIME

// flagTable is the standard mount(8) option table.
var flagTable = map[string]flagOpt{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

// propagationTable maps the propagation options to their mount(2) flags.
var propagationTable = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recAttrOpt is one recursive mount attribute (OCI "rro", "rnosuid", ...).
type recAttrOpt struct {
	clear bool
	attr  uint64
}

// recAttrTable maps the recursive options to mount_setattr(2) attributes.
var recAttrTable = map[string]recAttrOpt{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {true, unix.MOUNT_ATTR__ATIME},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME},
	"ratime":         {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {true, unix.MOUNT_ATTR__ATIME},
}

// MountOptions lists every mount option parseOptions gives a meaning
// (the runtime's `features`), sorted: mount(8)'s flags, propagation,
// the recursive attributes of mount_setattr(2) and the idmap options.
// Others are passed to the file system as data.
func MountOptions() []string {
	out := []string{"idmap", "ridmap"}
	for k := range flagTable {
		out = append(out, k)
	}
	for k := range propagationTable {
		out = append(out, k)
	}
	for k := range recAttrTable {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseOptions splits a spec mount's options. Unknown options become
// filesystem data, as with runc and mount(8). An empty option is an error.
func parseOptions(options []string) (mountOpts, error) {
	var o mountOpts
	for _, opt := range options {
		if opt == "" {
			return o, fmt.Errorf("%w: empty mount option", ErrInvalidMount)
		}
		if f, ok := flagTable[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
				o.cleared |= f.flag
			} else {
				o.flags |= f.flag
				o.cleared &^= f.flag
			}
			continue
		}
		if p, ok := propagationTable[opt]; ok {
			o.propagate = append(o.propagate, p)
			continue
		}
		if a, ok := recAttrTable[opt]; ok {
			if a.attr&unix.MOUNT_ATTR__ATIME != 0 || a.attr == unix.MOUNT_ATTR_RELATIME {
				// Atime attributes are a mode, not bits: the whole
				// field is cleared before one is set.
				o.recAttr.Attr_clr |= unix.MOUNT_ATTR__ATIME
				o.recAttr.Attr_set &^= unix.MOUNT_ATTR__ATIME
				if !a.clear {
					o.recAttr.Attr_set |= a.attr
				}
				continue
			}
			if a.clear {
				o.recAttr.Attr_set &^= a.attr
				o.recAttr.Attr_clr |= a.attr
			} else {
				o.recAttr.Attr_set |= a.attr
				o.recAttr.Attr_clr &^= a.attr
			}
			continue
		}
		if opt == "idmap" || opt == "ridmap" {
			o.idmap = true
			o.idmapRec = opt == "ridmap"
			continue
		}
		o.data = append(o.data, opt)
	}
	return o, nil
}

// hasRecAttr reports whether recursive attributes were requested.
func (o *mountOpts) hasRecAttr() bool {
	return o.recAttr.Attr_set != 0 || o.recAttr.Attr_clr != 0
}

// isBind reports whether the options ask for a bind mount.
func (o *mountOpts) isBind() bool { return o.flags&unix.MS_BIND != 0 }

// dataString joins the filesystem data options.
func (o *mountOpts) dataString() string { return strings.Join(o.data, ",") }

// needsRemount reports whether a bind mount needs a second, remounting
// mount(2) to apply per-mount flags (bind ignores them).
func (o *mountOpts) needsRemount() bool {
	return o.flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) != 0
}
