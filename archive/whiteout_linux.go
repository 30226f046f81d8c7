package archive

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout applies ".wh.<name>" and ".wh..wh..opq" entries in dir.
func (a *applier) whiteout(dir, base string) error {
	if base == whiteoutOpaque {
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return fmt.Errorf("whiteout %q: %w", dir+"/"+base, ErrUnsafePath)
	}
	name := target
	if dir != "" {
		name = dir + "/" + target
	}
	if a.opts.Whiteouts == WhiteoutOverlay {
		parent, err := a.openDir(dir, true)
		if err != nil {
			return fmt.Errorf("whiteout %q: %w", name, err)
		}
		err = unix.Mknodat(parent.fd, target, unix.S_IFCHR, 0)
		if errors.Is(err, unix.EEXIST) {
			if err := a.replace(parent, name, target); err != nil {
				return err
			}
			err = unix.Mknodat(parent.fd, target, unix.S_IFCHR, 0)
		}
		if err != nil {
			return fmt.Errorf("whiteout %q: %w", name, err)
		}
		return nil
	}
	parent, err := a.openDir(dir, false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // nothing to hide
		}
		return fmt.Errorf("whiteout %q: %w", name, err)
	}
	a.forget(parent)
	if err := removeAllAt(parent.fd, target); err != nil {
		return fmt.Errorf("whiteout %q: %w", name, err)
	}
	return nil
}

// opaque hides everything the lower layers have in dir.
func (a *applier) opaque(dir string) error {
	d, err := a.openDir(dir, true)
	if err != nil {
		return fmt.Errorf("opaque directory %q: %w", dir, err)
	}
	if a.opts.Whiteouts == WhiteoutOverlay {
		if err := unix.Fsetxattr(d.fd, a.opts.overlayXattr("opaque"), []byte("y"), 0); err != nil {
			return fmt.Errorf("opaque directory %q: %w", dir, err)
		}
		return nil
	}
	names, err := readDirNames(d.fd)
	if err != nil {
		return fmt.Errorf("opaque directory %q: %w", dir, err)
	}
	for _, n := range names {
		p := n
		if dir != "" {
			p = dir + "/" + n
		}
		if _, ok := a.created[p]; ok {
			continue
		}
		a.forget(d)
		if err := removeAllAt(d.fd, n); err != nil {
			return fmt.Errorf("opaque directory %q: %w", dir, err)
		}
	}
	return nil
}
