package rootfs

import (
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// lxcfsProcFiles are the /proc files that may be covered by a bind mount
// whose source is not procfs (LXCFS serves them from FUSE).
var lxcfsProcFiles = map[string]bool{
	"/proc/cpuinfo":   true,
	"/proc/diskstats": true,
	"/proc/loadavg":   true,
	"/proc/meminfo":   true,
	"/proc/slabinfo":  true,
	"/proc/stat":      true,
	"/proc/swaps":     true,
	"/proc/uptime":    true,
}

// checkedMount is a spec mount after validation.
type checkedMount struct {
	specs.Mount
	dest string // cleaned absolute destination
	opts mountOpts
	bind bool
	// index is the mount's position in spec.Mounts (set by Prepare).
	index int
}

// checkMountIn is checkMount for a container whose rootfs is at rootfs:
// as runc does, a destination under the rootfs' own path means the
// container path below it ("/bundle/rootfs/mnt" is "/mnt").
func checkMountIn(m specs.Mount, rootfs string) (checkedMount, error) {
	root := path.Clean("/" + rootfs)
	if d := path.Clean("/" + m.Destination); root != "/" && strings.HasPrefix(d, root+"/") {
		m.Destination = strings.TrimPrefix(d, root)
	}
	return checkMount(m)
}

// checkMount validates one spec mount without touching the system.
func checkMount(m specs.Mount) (checkedMount, error) {
	cm := checkedMount{Mount: m}
	if !path.IsAbs(m.Destination) {
		return cm, fmt.Errorf("%w: destination %q is not an absolute path", ErrInvalidMount, m.Destination)
	}
	cm.dest = path.Clean(m.Destination)
	if cm.dest == "/" {
		return cm, fmt.Errorf("%w: cannot mount over the container's root", ErrInvalidMount)
	}
	o, err := parseOptions(m.Options)
	if err != nil {
		return cm, fmt.Errorf("mount %s: %w", cm.dest, err)
	}
	cm.opts = o
	cm.bind = m.Type == "bind" || o.isBind()
	switch {
	case o.idmap && !cm.bind:
		return cm, fmt.Errorf("%w: idmap on %s needs a bind mount", ErrInvalidMount, cm.dest)
	case !cm.bind && m.Type == "":
		return cm, fmt.Errorf("%w: mount %s has no type", ErrInvalidMount, cm.dest)
	case cm.bind && m.Source == "":
		return cm, fmt.Errorf("%w: bind mount %s has no source", ErrInvalidMount, cm.dest)
	case cm.dest == "/proc" && !cm.bind && m.Type != "proc":
		// A bind is checked when it is made: its source must be procfs.
		return cm, fmt.Errorf("%w: /proc must be a proc mount, not %q", ErrUnsafe, m.Type)
	case strings.HasPrefix(cm.dest, "/proc/") && !cm.bind:
		return cm, fmt.Errorf("%w: only bind mounts may go under /proc, not %q on %s", ErrUnsafe, m.Type, cm.dest)
	case cm.dest == "/sys" && !cm.bind && m.Type != "sysfs":
		return cm, fmt.Errorf("%w: /sys must be a sysfs mount, not %q", ErrUnsafe, m.Type)
	}
	return cm, nil
}

// Validate checks a spec's mounts, devices, masked and read-only paths
// without touching anything, so a runtime can reject a bad config before
// creating a container. Prepare runs the same checks.
func Validate(spec *specs.Spec) error {
	if spec == nil {
		return fmt.Errorf("%w: no spec", ErrInvalidMount)
	}
	rootfs := ""
	if spec.Root != nil {
		rootfs = spec.Root.Path
	}
	for _, m := range spec.Mounts {
		if _, err := checkMountIn(m, rootfs); err != nil {
			return err
		}
	}
	if spec.Linux == nil {
		return nil
	}
	for _, d := range spec.Linux.Devices {
		if _, err := deviceMode(d); err != nil {
			return err
		}
	}
	for _, list := range [][]string{spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths} {
		for _, p := range list {
			if !path.IsAbs(p) {
				return fmt.Errorf("%w: masked or read-only path %q is not absolute", ErrInvalidMount, p)
			}
		}
	}
	if _, err := rootPropagation(spec.Linux.RootfsPropagation); err != nil {
		return err
	}
	return validateMountLabel(spec.Linux.MountLabel)
}
