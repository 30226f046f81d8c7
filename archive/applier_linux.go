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

// replace removes whatever is at parent/base so a new entry can take its
// place.
func (a *applier) replace(parent cachedDir, name, base string) error {
	a.forget(parent)
	if err := removeAllAt(parent.fd, base); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	return nil
}
