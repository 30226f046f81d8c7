package engine

import (
	"os"
	"path/filepath"
	"testing"
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
