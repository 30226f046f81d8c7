package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are the nodes every container gets (/dev/console is
// handled by BindConsole).
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// deviceMode returns the mknod mode (type and permission bits) of d.
func deviceMode(d specs.LinuxDevice) (uint32, error) {
	if !path.IsAbs(d.Path) || path.Clean(d.Path) == "/" {
		return 0, fmt.Errorf("%w: device path %q is not an absolute file path", ErrInvalidMount, d.Path)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		// Like runc, take the raw permission bits (some generators
		// also put the S_IFMT type bits there: the type comes from
		// d.Type) plus Go's setuid/setgid/sticky bits.
		m := *d.FileMode
		perm = uint32(m) & 0o7777
		if m&os.ModeSetuid != 0 {
			perm |= unix.S_ISUID
		}
		if m&os.ModeSetgid != 0 {
			perm |= unix.S_ISGID
		}
		if m&os.ModeSticky != 0 {
			perm |= unix.S_ISVTX
		}
	}
	switch d.Type {
	case "c", "u":
		return unix.S_IFCHR | perm, nil
	case "b":
		return unix.S_IFBLK | perm, nil
	case "p":
		return unix.S_IFIFO | perm, nil
	default:
		return 0, fmt.Errorf("%w: device %s has unknown type %q", ErrInvalidMount, d.Path, d.Type)
	}
}

// devices returns the default devices merged with the spec's; a spec
// entry replaces a default one at the same path.
func devices(spec []specs.LinuxDevice) []specs.LinuxDevice {
	seen := map[string]bool{}
	for _, d := range spec {
		seen[path.Clean(d.Path)] = true
	}
	var out []specs.LinuxDevice
	for _, d := range defaultDevices {
		if !seen[d.Path] {
			out = append(out, d)
		}
	}
	return append(out, spec...)
}

// createDevices makes every device node inside the rootfs: mknod, or in a
// user namespace (where mknod is not allowed) a bind of the host's node.
func (p *preparer) createDevices(spec []specs.LinuxDevice) error {
	if !p.c.UserNS {
		old := unix.Umask(0)
		defer unix.Umask(old)
	}
	for _, d := range devices(spec) {
		var err error
		if p.c.UserNS {
			err = p.bindDevice(d)
		} else {
			err = p.mknodDevice(d)
		}
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	return nil
}

// mknodDevice creates d with mknod, replacing whatever non-directory the
// rootfs had at that path.
func (p *preparer) mknodDevice(d specs.LinuxDevice) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	dir, err := mkdirInRoot(p.root, path.Dir(path.Clean(d.Path)))
	if err != nil {
		return err
	}
	defer dir.Close()
	name := path.Base(d.Path)
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknodat(int(dir.Fd()), name, mode, dev)
	if errors.Is(err, unix.EEXIST) {
		if err = unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
			return fmt.Errorf("replace existing %s: %w", d.Path, err)
		}
		err = unix.Mknodat(int(dir.Fd()), name, mode, dev)
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if uid != 0 || gid != 0 {
		if err := unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	return nil
}

// bindDevice binds the host's node for d onto an empty file in the
// rootfs, after checking the host node is the device the spec names.
func (p *preparer) bindDevice(d specs.LinuxDevice) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	src, err := os.OpenFile(d.Path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("host node: %w", err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return fmt.Errorf("stat host node: %w", err)
	}
	if st.Mode&unix.S_IFMT != mode&unix.S_IFMT ||
		(mode&unix.S_IFMT != unix.S_IFIFO && (unix.Major(st.Rdev) != uint32(d.Major) || unix.Minor(st.Rdev) != uint32(d.Minor))) {
		return fmt.Errorf("%w: host %s is not device %s %d:%d", ErrUnsafe, d.Path, d.Type, d.Major, d.Minor)
	}
	target, err := createFileInRoot(p.root, d.Path)
	if err != nil {
		return err
	}
	defer target.Close()
	return bindOnto(p.root, src, &st, path.Clean(d.Path), target, mountOpts{})
}
