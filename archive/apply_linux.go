package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/userns"
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
	if userns.Inside() {
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
		err = a.entry(hdr, tr)
		a.release()
		if err != nil {
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
		err = unix.UtimesNanoAt(parent.fd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		a.release()
		if err != nil && !errors.Is(err, unix.ENOENT) {
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
