package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Unix98 pty slaves have majors 136 to 143.
const (
	ptySlaveMajorFirst = 136
	ptySlaveMajorLast  = 143
)

// BindConsole binds the pty slave at slavePath over /dev/console, after
// Pivot (/proc must be mounted). /dev/console is created as an empty
// regular file if absent; anything there other than a regular file or a
// character device (a symlink planted to redirect the bind, a directory)
// is refused, as is a slavePath that is not a pty slave.
func BindConsole(slavePath string) error {
	slave, err := os.OpenFile(slavePath, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open console slave: %w", err)
	}
	defer slave.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		return fmt.Errorf("stat console slave %s: %w", slavePath, err)
	}
	if major := unix.Major(st.Rdev); st.Mode&unix.S_IFMT != unix.S_IFCHR || major < ptySlaveMajorFirst || major > ptySlaveMajorLast {
		return fmt.Errorf("%w: console %s is not a pty slave", ErrUnsafe, slavePath)
	}
	if err := checkProc(); err != nil {
		return err
	}
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer root.Close()
	dev, err := mkdirInRoot(root, "/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	console, err := openConsole(dev)
	if err != nil {
		return err
	}
	defer console.Close()
	if err := unix.Mount(procFd(slave), procFd(console), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s over /dev/console: %w", slavePath, err)
	}
	return nil
}

// openConsole opens /dev/console (creating it if missing) without
// following a symlink and checks what it is.
func openConsole(dev *os.File) (*os.File, error) {
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		var c int
		c, err = unix.Openat(int(dev.Fd()), "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if err == nil {
			unix.Close(c)
			fd, err = unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open /dev/console: %w", err)
	}
	f := os.NewFile(uintptr(fd), "/dev/console")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat /dev/console: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		f.Close()
		return nil, fmt.Errorf("%w: /dev/console is neither a file nor a device (mode %#o)", ErrUnsafe, st.Mode)
	}
	return f, nil
}
