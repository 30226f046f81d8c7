package archive

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

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

// dirCacheSize is how many directories an applier keeps open between
// entries; when full, the cache is emptied.
const dirCacheSize = 256

// applier holds the state of one Apply.
type applier struct {
	rootFd       int
	opts         ApplyOptions
	euid, egid   int
	allowDevices bool
	rejectDevs   bool
	dirs         map[string]cachedDir // open parent directories by clean path
	// inUse are the fds openDir handed out for the entry being applied:
	// neither the cache's eviction nor forget closes them before release,
	// so an entry holding two directories never sees one closed (EBADF)
	// or, worse, its number reused by another directory.
	inUse map[int]bool
	// dropped are in-use fds already taken out of the cache, closed by
	// release.
	dropped []int
	times   []dirTimes
	created map[string]struct{} // paths this layer wrote (WhiteoutDelete only)
	buf     []byte
	umask   uint32
}

func newApplier(rootFd int, opts ApplyOptions) *applier {
	a := &applier{
		rootFd: rootFd, opts: opts,
		euid: os.Geteuid(), egid: os.Getegid(),
		dirs:  map[string]cachedDir{},
		inUse: map[int]bool{},
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
	a.release()
	for _, d := range a.dirs {
		if d.fd != a.rootFd {
			_ = unix.Close(d.fd)
		}
	}
	a.dirs = nil
	_ = unix.Close(a.rootFd)
}

// release ends an entry: the directories it used may be closed again.
func (a *applier) release() {
	for _, fd := range a.dropped {
		_ = unix.Close(fd)
	}
	a.dropped = a.dropped[:0]
	clear(a.inUse)
}

// drop takes cache entry k out, closing its fd unless an entry still
// uses it (then release closes it).
func (a *applier) drop(k string, d cachedDir) {
	delete(a.dirs, k)
	switch {
	case d.fd == a.rootFd:
	case a.inUse[d.fd]:
		a.dropped = append(a.dropped, d.fd)
	default:
		_ = unix.Close(d.fd)
	}
}

// forget drops the cached directory fds after p was removed or
// replaced. All of them go, not only those under p: a cached path may
// have reached its directory through a symlink into p.
// The directory in use (keep, the parent of p) stays cached.
func (a *applier) forget(keep cachedDir) {
	for k, d := range a.dirs {
		if d.fd != keep.fd {
			a.drop(k, d)
		}
	}
}

const resolveFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openDir opens directory p (clean, relative) under the root, following
// symlinks only inside the root. With create, missing directories are
// made (mode 0755, owned by the caller).
func (a *applier) openDir(p string, create bool) (cachedDir, error) {
	d, err := a.lookupDir(p, create)
	if err == nil {
		a.inUse[d.fd] = true
	}
	return d, err
}

func (a *applier) lookupDir(p string, create bool) (cachedDir, error) {
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
	// The parent is used only until its child is open: not marked in use,
	// so that a deep path does not hold every level open.
	parent, err := a.lookupDir(dir, true)
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
	if len(a.dirs) >= dirCacheSize {
		for k, old := range a.dirs {
			a.drop(k, old)
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

// replace removes whatever is at parent/base so a new entry can take its
// place; with NoOverwriteDirNonDir a directory is not replaced.
func (a *applier) replace(parent cachedDir, name, base string) error {
	if a.opts.NoOverwriteDirNonDir {
		var st unix.Stat_t
		if err := unix.Fstatat(parent.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("cannot overwrite directory %q with non-directory: %w", name, ErrOverwrite)
		}
	}
	a.forget(parent)
	if err := removeAllAt(parent.fd, base); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	return nil
}
