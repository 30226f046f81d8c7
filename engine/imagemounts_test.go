package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestResolveInRoot: a sub-path resolves inside the image's root whatever
// its symlinks say; a missing one is an error naming it.
func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": "/etc", "up": "../../../..", "out": "/nonexistent-outside"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for sub, want := range map[string]string{"": root, "etc/dir": filepath.Join(root, "etc", "dir"), "abs/dir": filepath.Join(root, "etc", "dir"), "up": root, "up/etc": filepath.Join(root, "etc")} {
		if got, err := resolveInRoot(root, sub); err != nil || got != want {
			t.Errorf("resolveInRoot(%q) = %q, %v; want %q", sub, got, err, want)
		}
	}
	for _, sub := range []string{"nope", "out", "etc/dir/x"} {
		if got, err := resolveInRoot(root, sub); err == nil {
			t.Errorf("resolveInRoot(%q) = %q; want an error", sub, got)
		}
	}
	for _, sub := range []string{"/etc", "../etc", "etc/../..", "a\x00b"} {
		if err := checkSubPath(sub); err == nil {
			t.Errorf("checkSubPath(%q) accepted", sub)
		}
	}
}

// TestIsMountpointBind: a bind mount of a directory of the same file
// system counts as mounted (the device alone would not tell).
func TestIsMountpointBind(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if isMountpoint(dst) {
		t.Fatal("an empty directory counts as mounted")
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dst, unix.MNT_DETACH) })
	if !isMountpoint(dst) || isMountpoint(src) {
		t.Errorf("isMountpoint: bind target %v, source %v; want true, false", isMountpoint(dst), isMountpoint(src))
	}
}
