package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// devLinks are the standard /dev symlinks, name -> target.
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// createDevLinks makes the /dev symlinks: fd, stdin, stdout, stderr,
// ptmx -> pts/ptmx (replacing any ptmx node) and core -> /proc/kcore when
// the host has /proc/kcore. Existing entries other than ptmx are kept.
// With a terminal it also makes the /dev/console mount point.
func (p *preparer) createDevLinks() error {
	dev, err := mkdirInRoot(p.root, "/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	links := devLinks[:len(devLinks):len(devLinks)]
	if _, err := os.Lstat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[1], int(dev.Fd()), l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx: %w", err)
	}
	if proc := p.c.Spec.Process; proc != nil && proc.Terminal {
		// BindConsole runs after Finalize, when /dev may be read-only:
		// make its mount point now.
		console, err := openConsole(dev)
		if err != nil {
			return err
		}
		console.Close()
	}
	return nil
}
