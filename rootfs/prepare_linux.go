package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"
)

// rootPropagation parses linux.rootfsPropagation (0 when unset).
func rootPropagation(s string) (uintptr, error) {
	if s == "" {
		return 0, nil
	}
	flag, ok := propagationTable[s]
	if !ok {
		return 0, fmt.Errorf("%w: unknown rootfsPropagation %q", ErrInvalidMount, s)
	}
	return flag, nil
}

// check validates c before anything is touched.
func (c *Config) check() error {
	if c == nil || c.Spec == nil {
		return fmt.Errorf("%w: no spec", ErrInvalidMount)
	}
	if !filepath.IsAbs(c.Rootfs) {
		return fmt.Errorf("%w: rootfs %q is not an absolute path", ErrInvalidMount, c.Rootfs)
	}
	return Validate(c.Spec)
}

// Prepare builds the container's filesystem tree under c.Rootfs, before
// pivot: it makes "/" rslave (rprivate or rshared when
// linux.rootfsPropagation asks for private or shared, see
// prepareRootPropagation) so that nothing mounted for the container
// propagates back to the host but through a shared bind, binds the rootfs onto itself, performs every spec mount in order, then
// creates the device nodes and /dev symlinks (unless /dev is a bind
// mount). It must run in the container's own mount namespace.
func Prepare(c *Config) error {
	if err := c.check(); err != nil {
		return err
	}
	mounts := make([]checkedMount, 0, len(c.Spec.Mounts))
	for i, m := range c.Spec.Mounts {
		cm, err := checkMountIn(m, c.Rootfs)
		if err != nil {
			return err
		}
		cm.index = i
		mounts = append(mounts, cm)
	}
	if err := prepareRootPropagation(c); err != nil {
		return err
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", c.Rootfs, err)
	}
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()
	p := &preparer{c: c, root: root}
	setupDev := true
	for _, m := range mounts {
		if err := p.mount(m); err != nil {
			return fmt.Errorf("mount %s: %w", m.dest, err)
		}
		if m.dest == "/dev" && m.bind {
			setupDev = false
		}
	}
	if !setupDev {
		return nil
	}
	var devs []specs.LinuxDevice
	if c.Spec.Linux != nil {
		devs = c.Spec.Linux.Devices
	}
	if err := p.createDevices(devs); err != nil {
		return err
	}
	return p.createDevLinks()
}

// prepareRootPropagation makes "/" rslave, or rprivate or rshared as
// linux.rootfsPropagation asks. Under rshared the mounts keep their
// host peer groups, so that a shared bind's source still propagates
// both ways; the mount holding the rootfs is then made private, so
// that the rootfs bind and everything mounted on it stay in here.
func prepareRootPropagation(c *Config) error {
	rootProp := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if c.Spec.Linux != nil {
		flag, _ := rootPropagation(c.Spec.Linux.RootfsPropagation)
		if flag&(unix.MS_PRIVATE|unix.MS_SHARED) != 0 {
			rootProp = flag | unix.MS_REC
		}
	}
	if err := unix.Mount("", "/", "", rootProp, ""); err != nil {
		return fmt.Errorf("make / %s: %w", propName(rootProp), err)
	}
	if rootProp&unix.MS_SHARED == 0 {
		return nil
	}
	mp, err := mountRootOf(c.Rootfs)
	if err != nil {
		return err
	}
	if err := unix.Mount("", mp, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mount holding the rootfs (%s) private: %w", mp, err)
	}
	return nil
}

// mountRootOf returns the root of the mount that holds dir: the highest
// directory from dir up that is on the same mount.
func mountRootOf(dir string) (string, error) {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("mount of rootfs: %w", err)
	}
	id := func(p string) (uint64, error) {
		f, err := os.OpenFile(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return mountID(f)
	}
	want, err := id(dir)
	if err != nil {
		return "", fmt.Errorf("mount of rootfs %s: %w", dir, err)
	}
	for dir != "/" {
		parent := filepath.Dir(dir)
		pid, err := id(parent)
		if err != nil {
			return "", fmt.Errorf("mount of rootfs %s: %w", dir, err)
		}
		if pid != want {
			break
		}
		dir = parent
	}
	return dir, nil
}

// propName names a propagation flag for error messages.
func propName(flag uintptr) string {
	for name, f := range propagationTable {
		if f == flag {
			return name
		}
	}
	return fmt.Sprintf("%#x", flag)
}
