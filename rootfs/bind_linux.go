package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// statfs f_flags bits (ST_*), which x/sys/unix does not name.
const (
	stRdonly      = 0x1
	stNosuid      = 0x2
	stNodev       = 0x4
	stNoexec      = 0x8
	stNoatime     = 0x400
	stNodiratime  = 0x800
	stRelatime    = 0x1000
	stNosymfollow = 0x2000
)

// bind bind-mounts the host path source (relative to the bundle if not
// absolute) on the container path dest, then remounts it with the
// requested flags, propagation and recursive attributes. pre, if not nil,
// is the source as the runtime opened it, used when we may not open it.
func (p *preparer) bind(source, dest string, o mountOpts, pre *os.File) error {
	if !filepath.IsAbs(source) {
		source = filepath.Join(p.c.BundleDir, source)
	}
	src, err := os.OpenFile(source, unix.O_PATH|unix.O_CLOEXEC, 0)
	if pre != nil && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		src, err = os.OpenFile(procFd(pre), unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return fmt.Errorf("stat bind source %s: %w", source, err)
	}
	// Only procfs (or, for a few files, LXCFS) may cover part of /proc.
	procOK := lxcfsProcFiles[dest] || checkMagic(src, unix.PROC_SUPER_MAGIC) == nil
	switch {
	case dest == "/sys":
		if err := checkMagic(src, unix.SYSFS_MAGIC); err != nil {
			return fmt.Errorf("bind over /sys: %w", err)
		}
	case (dest == "/proc" || strings.HasPrefix(dest, "/proc/")) && !procOK:
		return fmt.Errorf("%w: bind over %s from %s, which is not procfs", ErrUnsafe, dest, source)
	case dest == "/proc":
		// Like a proc mount: on a real directory, never through a symlink.
		t, err := openInRoot(p.root, dest, unix.RESOLVE_NO_SYMLINKS)
		if err != nil {
			return fmt.Errorf("%w: bind of procfs on /proc: %w", ErrUnsafe, err)
		}
		err = wantDir(t, dest)
		t.Close()
		if err != nil {
			return err
		}
	}
	var target *os.File
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		target, err = mkdirInRoot(p.root, dest)
	} else {
		target, err = createFileInRoot(p.root, dest)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	if !procOK {
		if err := notInProcfs(target, dest); err != nil {
			return err
		}
	}
	return bindOnto(p.root, src, &st, dest, target, o)
}

// bindOnto binds the open source (with stat st) onto the open target at
// the container path dest, resolved under root, and applies o.
func bindOnto(root, src *os.File, st *unix.Stat_t, dest string, target *os.File, o mountOpts) error {
	if err := unix.Mount(procFd(src), procFd(target), "", unix.MS_BIND|o.flags&unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src.Name(), dest, err)
	}
	return afterBind(root, src, st, dest, target, o)
}

// afterBind checks that dest now shows the bind of src (stat st) made on
// target, then applies o's flags, propagation and recursive attributes.
func afterBind(root, src *os.File, st *unix.Stat_t, dest string, target *os.File, o mountOpts) error {
	if !o.needsRemount() && len(o.propagate) == 0 && !o.hasRecAttr() {
		return nil
	}
	mounted, err := reopenMounted(root, dest, target, 0)
	if err != nil {
		return err
	}
	defer mounted.Close()
	var got unix.Stat_t
	if err := unix.Fstat(int(mounted.Fd()), &got); err != nil {
		return fmt.Errorf("stat %s: %w", dest, err)
	}
	if got.Dev != st.Dev || got.Ino != st.Ino {
		return fmt.Errorf("%w: %s is not the bind of %s just made", ErrUnsafe, dest, src.Name())
	}
	if o.needsRemount() {
		if err := remountBind(procFd(mounted), mounted, o); err != nil {
			return fmt.Errorf("remount %s: %w", dest, err)
		}
	}
	return applyPropagation(dest, mounted, o)
}

// remountBind applies o's per-mount flags to the bind mount at target,
// open as f. As with runc, the mount gets the flags o asks for (the atime
// mode is kept unless o names one), so a bind of a read-only mount without
// "ro" is writable. Where that fails with EPERM (a user namespace, where
// the flags of the mount the bind came from are locked), the flags of the
// underlying mount that o does not clear are kept.
func remountBind(target string, f *os.File, o mountOpts) error {
	flags := unix.MS_BIND | unix.MS_REMOUNT | o.flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT)
	err := unix.Mount("", target, "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		if err != nil {
			return fmt.Errorf("mount flags %#x: %w", flags, err)
		}
		return nil
	}
	locked, err := lockedFlags(f)
	if err != nil {
		return err
	}
	if o.flags&atimeFlags != 0 || o.cleared&atimeFlags != 0 {
		locked &^= atimeFlags
	}
	flags |= locked &^ o.cleared
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("mount flags %#x: %w", flags, err)
	}
	return nil
}

// lockedFlags returns, as MS_* flags, the per-mount flags of the mount f
// is on, read with statfs.
func lockedFlags(f *os.File) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", f.Name(), err)
	}
	var flags uintptr
	for _, m := range [...]struct {
		st int64
		ms uintptr
	}{
		{stRdonly, unix.MS_RDONLY},
		{stNosuid, unix.MS_NOSUID},
		{stNodev, unix.MS_NODEV},
		{stNoexec, unix.MS_NOEXEC},
		{stNoatime, unix.MS_NOATIME},
		{stNodiratime, unix.MS_NODIRATIME},
		{stRelatime, unix.MS_RELATIME},
		{stNosymfollow, unix.MS_NOSYMFOLLOW},
	} {
		if int64(st.Flags)&m.st != 0 {
			flags |= m.ms
		}
	}
	if flags&(unix.MS_NOATIME|unix.MS_RELATIME) == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags, nil
}
