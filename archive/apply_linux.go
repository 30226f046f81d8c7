package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Apply unpacks a layer tar stream (already decompressed) into root and
// returns the number of tar bytes read. Every path is resolved
// fd-relative under root with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS),
// so symlinks (including ones created by earlier entries) are resolved as
// if root were "/" and never lead outside it; the last component of an
// entry is never followed (an existing entry is replaced, not written
// through). Names climbing out with ".." fail with ErrUnsafePath.
// Directory modification times are set after all their children.
//
// On error root is left partially unpacked; callers unpack into a fresh
// snapshot and remove it on failure.
func Apply(ctx context.Context, root string, r io.Reader, opts ApplyOptions) (int64, error) {
	rootFd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open unpack root %s: %w", root, err)
	}
	if inUserNS() {
		opts.Rootless = true
	}
	a := newApplier(rootFd, opts)
	defer a.close()

	cr := &countingReader{r: r}
	tr := tar.NewReader(bufio.NewReaderSize(cr, 1<<20))
	for {
		if err := ctx.Err(); err != nil {
			return cr.n, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cr.n, fmt.Errorf("read layer tar: %w", err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return cr.n, err
		}
	}
	if err := a.finish(); err != nil {
		return cr.n, err
	}
	// Read the trailing padding so the count (and any digest computed
	// over r) covers the whole stream.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return cr.n, fmt.Errorf("read layer tar: %w", err)
	}
	if opts.Sync {
		if err := unix.Syncfs(rootFd); err != nil {
			return cr.n, fmt.Errorf("sync %s: %w", root, err)
		}
	}
	return cr.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// dirTimes is a directory whose times are set once its children exist.
type dirTimes struct {
	path         string
	atime, mtime time.Time
}

// cachedDir is an open directory inside the root.
type cachedDir struct {
	fd     int
	setgid bool
}

// applier holds the state of one Apply.
type applier struct {
	rootFd       int
	opts         ApplyOptions
	euid, egid   int
	allowDevices bool
	rejectDevs   bool
	dirs         map[string]cachedDir // open parent directories by clean path
	times        []dirTimes
	created      map[string]struct{} // paths this layer wrote (WhiteoutDelete only)
	buf          []byte
	umask        uint32
}

func newApplier(rootFd int, opts ApplyOptions) *applier {
	a := &applier{
		rootFd: rootFd, opts: opts,
		euid: os.Geteuid(), egid: os.Getegid(),
		dirs:  map[string]cachedDir{},
		buf:   make([]byte, 1<<20),
		umask: processUmask,
	}
	a.allowDevices, a.rejectDevs = opts.devicesAllowed(a.euid)
	if opts.Whiteouts == WhiteoutDelete {
		a.created = map[string]struct{}{}
	}
	return a
}

func (a *applier) close() {
	for _, d := range a.dirs {
		if d.fd != a.rootFd {
			_ = unix.Close(d.fd)
		}
	}
	a.dirs = nil
	_ = unix.Close(a.rootFd)
}

// forget drops the cached directory fds after p was removed or
// replaced. All of them go, not only those under p: a cached path may
// have reached its directory through a symlink into p.
// The directory in use (keep, the parent of p) stays open.
func (a *applier) forget(keep cachedDir) {
	for k, d := range a.dirs {
		if d.fd == keep.fd {
			continue
		}
		if d.fd != a.rootFd {
			_ = unix.Close(d.fd)
		}
		delete(a.dirs, k)
	}
}

const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openDir opens directory p (clean, relative) under the root, following
// symlinks only inside the root. With create, missing directories are
// made (mode 0755, owned by the caller).
func (a *applier) openDir(p string, create bool) (cachedDir, error) {
	if d, ok := a.dirs[p]; ok {
		return d, nil
	}
	if p == "" {
		return a.cache(p, a.rootFd, false)
	}
	fd, err := openInRoot(a.rootFd, p)
	if err == nil {
		return a.cache(p, fd, true)
	}
	if !errors.Is(err, unix.ENOENT) || !create {
		return cachedDir{}, fmt.Errorf("open directory %q: %w", p, err)
	}
	dir, base := split(p)
	parent, err := a.openDir(dir, true)
	if err != nil {
		return cachedDir{}, err
	}
	if err := unix.Mkdirat(parent.fd, base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return cachedDir{}, fmt.Errorf("create directory %q: %w", p, err)
	}
	a.markCreated(p)
	fd, err = unix.Openat(parent.fd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return cachedDir{}, fmt.Errorf("open directory %q: %w", p, err)
	}
	return a.cache(p, fd, true)
}

// openInRoot opens directory p under rootFd with openat2, retrying the
// EAGAIN the kernel returns when a rename or mount elsewhere on the
// system raced with a RESOLVE_IN_ROOT lookup.
func openInRoot(rootFd int, p string) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveFlags}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(rootFd, p, how)
		if (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && i < 1000 {
			continue
		}
		return fd, err
	}
}

func (a *applier) cache(p string, fd int, stat bool) (cachedDir, error) {
	d := cachedDir{fd: fd}
	if stat {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			_ = unix.Close(fd)
			return cachedDir{}, fmt.Errorf("stat directory %q: %w", p, err)
		}
		d.setgid = st.Mode&unix.S_ISGID != 0
	} else if p == "" {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			d.setgid = st.Mode&unix.S_ISGID != 0
		}
	}
	if len(a.dirs) >= 256 {
		for k, old := range a.dirs {
			if old.fd != a.rootFd {
				_ = unix.Close(old.fd)
			}
			delete(a.dirs, k)
		}
	}
	a.dirs[p] = d
	return d, nil
}

func (a *applier) markCreated(p string) {
	if a.created != nil {
		a.created[p] = struct{}{}
	}
}

// entry unpacks one tar entry.
func (a *applier) entry(hdr *tar.Header, tr io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	dir, base := split(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(dir, base)
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	case tar.TypeReg: // the reader turns legacy TypeRegA into TypeReg
		if isSparse(hdr) {
			// A few bytes can declare a file of terabytes of holes
			// that would all be written out as zeros.
			return fmt.Errorf("entry %q: sparse files are not supported in layers: %w", hdr.Name, ErrUnsupportedEntry)
		}
	case tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	case tar.TypeChar, tar.TypeBlock:
		if a.rejectDevs {
			return fmt.Errorf("entry %q: %w", hdr.Name, ErrDeviceNotAllowed)
		}
		if !a.allowDevices {
			return nil
		}
	default:
		return fmt.Errorf("entry %q: type %q: %w", hdr.Name, hdr.Typeflag, ErrUnsupportedEntry)
	}
	if name == "" {
		return a.rootEntry(hdr)
	}
	parent, err := a.openDir(dir, true)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	a.markCreated(name)
	switch hdr.Typeflag {
	case tar.TypeReg:
		return a.regular(parent, name, base, hdr, tr)
	case tar.TypeDir:
		return a.directory(parent, name, base, hdr)
	case tar.TypeLink:
		return a.hardlink(parent, name, base, hdr)
	default:
		return a.special(parent, name, base, hdr)
	}
}

// rootEntry applies a "./" entry's metadata to the root itself.
func (a *applier) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("entry %q: the root must be a directory: %w", hdr.Name, ErrUnsupportedEntry)
	}
	if err := a.chownRoot(hdr); err != nil {
		return err
	}
	if err := unix.Fchmod(a.rootFd, uint32(hdr.Mode&0o7777)); err != nil {
		return fmt.Errorf("chmod root: %w", err)
	}
	if err := a.xattrs(a.rootFd, "", hdr, "."); err != nil {
		return err
	}
	a.times = append(a.times, dirTimes{path: "", atime: atime(hdr), mtime: hdr.ModTime})
	return nil
}

// replace removes whatever is at parent/base so a new entry can take its
// place.
func (a *applier) replace(parent cachedDir, name, base string) error {
	a.forget(parent)
	if err := removeAllAt(parent.fd, base); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	return nil
}

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

// procPath names parent/base through /proc/self/fd for the l*xattr
// calls (the last component is not followed).
func (a *applier) procPath(parent cachedDir, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(parent.fd) + "/" + base
}

// needChown reports whether a new file would not already have the
// entry's owner.
func (a *applier) needChown(parent cachedDir, hdr *tar.Header) bool {
	if a.opts.NoSameOwner {
		return false
	}
	return hdr.Uid != a.euid || hdr.Gid != a.egid || parent.setgid
}

func (a *applier) chownErr(err error, name string) error {
	if a.opts.Rootless && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM)) {
		return nil // an id the user namespace does not map
	}
	return fmt.Errorf("chown %q: %w", name, err)
}

func (a *applier) chownFd(fd int, parent cachedDir, hdr *tar.Header, name string) (bool, error) {
	if !a.needChown(parent, hdr) {
		return false, nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return false, a.chownErr(err, name)
	}
	return true, nil
}

func (a *applier) chownAt(parent cachedDir, base string, hdr *tar.Header, name string) error {
	if !a.needChown(parent, hdr) {
		return nil
	}
	if err := unix.Fchownat(parent.fd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return a.chownErr(err, name)
	}
	return nil
}

func (a *applier) chownRoot(hdr *tar.Header) error {
	if a.opts.NoSameOwner {
		return nil
	}
	if err := unix.Fchown(a.rootFd, hdr.Uid, hdr.Gid); err != nil {
		return a.chownErr(err, "the root")
	}
	return nil
}

// xattrs sets the entry's PAX SCHILY.xattr.* records on fd, or on path
// (not following a final symlink) when fd is -1. Overlay's own xattrs
// are never taken from a layer.
func (a *applier) xattrs(fd int, path string, hdr *tar.Header, name string) error {
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay.") {
			continue
		}
		var err error
		if fd >= 0 && path == "" {
			err = unix.Fsetxattr(fd, key, []byte(v), 0)
		} else {
			err = unix.Lsetxattr(path, key, []byte(v), 0)
		}
		if err == nil {
			continue
		}
		privileged := strings.HasPrefix(key, "security.") || strings.HasPrefix(key, "trusted.")
		if errors.Is(err, unix.ENOTSUP) && privileged {
			continue
		}
		if hdr.Typeflag == tar.TypeSymlink && (errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM)) {
			continue // user.* xattrs are not allowed on symlinks
		}
		if a.opts.Rootless && privileged && errors.Is(err, unix.EPERM) {
			continue
		}
		return fmt.Errorf("set xattr %s on %q: %w", key, name, err)
	}
	return nil
}

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

// finish sets the deferred directory times.
func (a *applier) finish() error {
	for i := len(a.times) - 1; i >= 0; i-- {
		t := a.times[i]
		ts := []unix.Timespec{unix.NsecToTimespec(t.atime.UnixNano()), unix.NsecToTimespec(t.mtime.UnixNano())}
		if t.path == "" {
			if err := unix.UtimesNanoAt(a.rootFd, "", ts, unix.AT_EMPTY_PATH); err != nil {
				return fmt.Errorf("set times of the root: %w", err)
			}
			continue
		}
		dir, base := split(t.path)
		parent, err := a.openDir(dir, false)
		if err != nil {
			continue // replaced or removed by a later entry
		}
		if err := unix.UtimesNanoAt(parent.fd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("set times of %q: %w", t.path, err)
		}
	}
	return nil
}

// isSparse reports a PAX GNU sparse entry (old GNU sparse entries keep
// their own type flag and are refused by type).
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func atime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}
