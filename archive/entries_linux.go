package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// regular creates a regular file (never through an existing one) and
// writes its data, owner, mode, xattrs and times.
func (a *applier) regular(parent cachedDir, name, base string, hdr *tar.Header, tr io.Reader) error {
	perm := uint32(hdr.Mode & 0o7777)
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(parent.fd, base, flags, perm&0o777)
	if errors.Is(err, unix.EEXIST) {
		if err := a.replace(parent, name, base); err != nil {
			return err
		}
		fd, err = unix.Openat(parent.fd, base, flags, perm&0o777)
	}
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	defer func() { _ = unix.Close(fd) }()
	if err := a.copyData(fd, tr, hdr.Size); err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	chowned, err := a.chownFd(fd, parent, hdr, name)
	if err != nil {
		return err
	}
	if perm&^0o777 != 0 || perm&a.umask != 0 || (chowned && perm&0o6000 != 0) {
		if err := unix.Fchmod(fd, perm); err != nil {
			return fmt.Errorf("chmod %q: %w", name, err)
		}
	}
	if err := a.xattrs(fd, "", hdr, name); err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime(hdr).UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("set times of %q: %w", name, err)
	}
	return nil
}

// copyData writes the entry's data with a large buffer (os.File's
// ReadFrom would fall back to 32 KiB copies).
func (a *applier) copyData(fd int, r io.Reader, size int64) error {
	var written int64
	for written < size {
		n, err := r.Read(a.buf)
		if n > 0 {
			if werr := writeAll(fd, a.buf[:n]); werr != nil {
				return werr
			}
			written += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if written != size {
		return fmt.Errorf("short entry: %d of %d bytes: %w", written, size, io.ErrUnexpectedEOF)
	}
	return nil
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		b = b[n:]
	}
	return nil
}

// directory creates a directory, or updates the metadata of an
// existing one (its contents stay).
func (a *applier) directory(parent cachedDir, name, base string, hdr *tar.Header) error {
	perm := uint32(hdr.Mode & 0o7777)
	err := unix.Mkdirat(parent.fd, base, perm&0o777)
	needChmod := perm&^0o777 != 0 || perm&a.umask != 0
	if errors.Is(err, unix.EEXIST) {
		needChmod = true
		var st unix.Stat_t
		if err := unix.Fstatat(parent.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %q: %w", name, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = nil // keep the directory and its contents, update its metadata
		} else {
			if a.opts.NoOverwriteDirNonDir {
				return fmt.Errorf("cannot overwrite non-directory %q with directory: %w", name, ErrOverwrite)
			}
			if err := a.replace(parent, name, base); err != nil {
				return err
			}
			err = unix.Mkdirat(parent.fd, base, perm&0o777)
			// A directory replacing a whiteout in an upper dir must not
			// show what the whiteout hid.
			if err == nil && a.opts.Whiteouts == WhiteoutOverlay && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
				if xerr := unix.Lsetxattr(a.procPath(parent, base), a.opts.overlayXattr("opaque"), []byte("y"), 0); xerr != nil {
					return fmt.Errorf("opaque directory %q: %w", name, xerr)
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("create directory %q: %w", name, err)
	}
	if err := a.chownAt(parent, base, hdr, name); err != nil {
		return err
	}
	// chown clears set-id bits, so chmod after it; a new directory whose
	// mode survived the umask needs none.
	if needChmod || (a.needChown(parent, hdr) && perm&0o6000 != 0) {
		if err := unix.Fchmodat(parent.fd, base, perm, 0); err != nil {
			return fmt.Errorf("chmod %q: %w", name, err)
		}
	}
	if err := a.xattrs(-1, a.procPath(parent, base), hdr, name); err != nil {
		return err
	}
	a.times = append(a.times, dirTimes{path: name, atime: atime(hdr), mtime: hdr.ModTime})
	return nil
}

// hardlink links name to an earlier entry resolved under the root.
func (a *applier) hardlink(parent cachedDir, name, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink %q: %w", hdr.Name, err)
	}
	if target == "" {
		return fmt.Errorf("hardlink %q to the root: %w", hdr.Name, ErrUnsafePath)
	}
	tdir, tbase := split(target)
	tparent, err := a.openDir(tdir, false)
	if err != nil {
		return fmt.Errorf("hardlink %q to %q: %w", hdr.Name, hdr.Linkname, err)
	}
	// Flags 0: never follow a symlink at the target; a link to a symlink
	// links the symlink itself.
	err = unix.Linkat(tparent.fd, tbase, parent.fd, base, 0)
	if errors.Is(err, unix.EEXIST) {
		if target == name {
			return nil
		}
		if err := a.replace(parent, name, base); err != nil {
			return err
		}
		err = unix.Linkat(tparent.fd, tbase, parent.fd, base, 0)
	}
	if err != nil {
		return fmt.Errorf("hardlink %q to %q: %w", hdr.Name, hdr.Linkname, err)
	}
	return nil
}

// special creates symlinks, fifos and device nodes.
func (a *applier) special(parent cachedDir, name, base string, hdr *tar.Header) error {
	create := func() error {
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			return unix.Symlinkat(hdr.Linkname, parent.fd, base)
		case tar.TypeFifo:
			return unix.Mknodat(parent.fd, base, unix.S_IFIFO|uint32(hdr.Mode&0o777), 0)
		case tar.TypeChar:
			return unix.Mknodat(parent.fd, base, unix.S_IFCHR|uint32(hdr.Mode&0o777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
		default:
			return unix.Mknodat(parent.fd, base, unix.S_IFBLK|uint32(hdr.Mode&0o777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
		}
	}
	err := create()
	if errors.Is(err, unix.EEXIST) {
		if err := a.replace(parent, name, base); err != nil {
			return err
		}
		err = create()
	}
	if err != nil {
		if a.opts.Rootless && errors.Is(err, unix.EPERM) && hdr.Typeflag != tar.TypeSymlink {
			return nil
		}
		return fmt.Errorf("create %q: %w", name, err)
	}
	if err := a.chownAt(parent, base, hdr, name); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		perm := uint32(hdr.Mode & 0o7777)
		if perm&^0o777 != 0 || perm&a.umask != 0 {
			if err := unix.Fchmodat(parent.fd, base, perm, 0); err != nil {
				return fmt.Errorf("chmod %q: %w", name, err)
			}
		}
	}
	if err := a.xattrs(-1, a.procPath(parent, base), hdr, name); err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime(hdr).UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(parent.fd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %q: %w", name, err)
	}
	return nil
}
