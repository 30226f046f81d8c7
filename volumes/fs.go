package volumes

import (
	"context"
	"errors"
	"fmt"
	"github.com/berth-dev/berth/mount"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/archive"
)

// CopyUp fills the data directory of a new volume with what the image
// has at the volume's mount point target, as Docker does: files,
// directories, symlinks (as links), owners, modes, times and xattrs, and
// the mount point's own owner and mode on the data directory. Nothing
// is copied when dataDir is not empty or target is not a directory in
// the image. target is resolved inside rootfs (the image's root
// filesystem) and nothing in it is followed out of it.
func CopyUp(ctx context.Context, dataDir, rootfs, target string) error {
	empty, err := isEmptyDir(dataDir)
	if err != nil || !empty {
		return err
	}
	root, err := os.Open(rootfs)
	if err != nil {
		return fmt.Errorf("copy up %s: %w", target, err)
	}
	defer root.Close()
	src, err := archive.OpenInRoot(root, target)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy up %s: %w", target, err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return err // a file at the mount point: nothing to copy
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.WriteTree(ctx, pw, src, ".", ".")) }()
	_, err = archive.Apply(ctx, dataDir, pr, archive.ApplyOptions{})
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if Apply failed
	if err != nil {
		return fmt.Errorf("copy up %s: %w", target, err)
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("copy up: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// dirSize sums the sizes of the regular files under dir, each inode once.
func dirSize(dir string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += info.Size()
		return nil
	})
	return total, err
}

// removeTree removes dir/name and everything under it without following
// symlinks or descending into another filesystem mounted inside it.
func removeTree(dir, name string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return removeAt(fd, name, st.Dev)
}

func removeAt(dirFd int, name string, dev uint64) error {
	err := unix.Unlinkat(dirFd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Dev != dev {
		return fmt.Errorf("%s is a mount point: %w", name, unix.EBUSY)
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAt(fd, n, dev); err != nil {
			return err
		}
	}
	if err := unix.Unlinkat(dirFd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// parseFilters turns `volume ls --filter` expressions into a predicate.
func parseFilters(filters []string) (func(Volume) bool, error) {
	var preds []func(Volume) bool
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%w %q: want key=value", ErrInvalidFilter, f)
		}
		switch k {
		case "name":
			preds = append(preds, func(vol Volume) bool { return strings.Contains(vol.Name, v) })
		case "label", "label!":
			lk, lv, hasValue := strings.Cut(v, "=")
			want := k == "label"
			preds = append(preds, func(vol Volume) bool {
				got, ok := vol.Labels[lk]
				return (ok && (!hasValue || got == lv)) == want
			})
		case "dangling":
			var want bool
			switch v {
			case "true", "1":
				want = true
			case "false", "0":
			default:
				return nil, fmt.Errorf("%w %q: dangling is true or false", ErrInvalidFilter, f)
			}
			preds = append(preds, func(vol Volume) bool { return (len(vol.Users) == 0) == want })
		default:
			return nil, fmt.Errorf("%w %q: want name, label, label! or dangling", ErrInvalidFilter, f)
		}
	}
	return func(vol Volume) bool {
		for _, p := range preds {
			if !p(vol) {
				return false
			}
		}
		return true
	}, nil
}

// mountUnder returns a mount point at or below dir, or "" if there is
// none, from /proc/self/mountinfo.
func mountUnder(dir string) (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if p := mount.Unescape(f[4]); p == dir || strings.HasPrefix(p, dir+"/") {
			return p, nil
		}
	}
	return "", nil
}
