package imagetest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Busybox is the static busybox binary the root filesystem is built from.
// Tests may point it elsewhere before building.
var Busybox = "/bin/busybox"

// ErrNoBusybox is returned when the busybox binary is missing.
var ErrNoBusybox = errors.New("static busybox binary not found")

// Applets are the commands linked to busybox in /bin of every root
// filesystem this package builds.
var Applets = []string{
	"sh", "true", "false", "echo", "cat", "sleep", "id", "ls", "ps", "env",
	"hostname", "mount", "umount", "top", "tty", "grep", "test", "kill", "mkdir",
	"rm", "touch", "wc", "uname", "head", "stat", "readlink", "pwd", "printf",
	"seq", "nproc", "whoami", "cut", "tr", "sed", "dd", "chmod", "ln", "mv", "cp",
}

var rootfsDirs = []string{"bin", "dev", "etc", "proc", "sys", "tmp", "root", "run", "var", "home", "usr", "usr/bin", "sbin"}

const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
const group = "root:x:0:\nnobody:x:65534:\n"

// BuildRootfs fills dir (created if missing) with a minimal root
// filesystem: busybox in /bin with symlinks for Applets, /etc/passwd and
// /etc/group with root and nobody, and the usual empty mount points.
func BuildRootfs(dir string) error {
	if _, err := os.Stat(Busybox); err != nil {
		return fmt.Errorf("build rootfs %s: %w: %s", dir, ErrNoBusybox, Busybox)
	}
	for _, d := range rootfsDirs {
		mode := os.FileMode(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, mode); err != nil {
			return fmt.Errorf("build rootfs: %w", err)
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("build rootfs: %w", err)
		}
	}
	if err := copyFile(Busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("build rootfs %s: %w", dir, err)
	}
	for _, a := range Applets {
		link := filepath.Join(dir, "bin", a)
		if err := os.Symlink("busybox", link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("build rootfs: %w", err)
		}
	}
	files := map[string]string{"etc/passwd": passwd, "etc/group": group, "etc/hostname": "berth\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("build rootfs: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}
