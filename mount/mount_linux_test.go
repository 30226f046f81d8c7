package mount_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
)

func TestWithTempMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen string
	err := mount.WithTempMount([]mount.Mount{{Type: "bind", Source: src, Options: []string{"ro", "rbind"}}}, func(root string) error {
		seen = root
		b, err := os.ReadFile(filepath.Join(root, "f"))
		if err != nil || string(b) != "x" {
			t.Errorf("read through mount: %q %v", b, err)
		}
		if err := os.WriteFile(filepath.Join(root, "g"), nil, 0o644); err == nil {
			t.Error("read-only bind is writable")
		}
		return errors.New("fn failed")
	})
	if err == nil || err.Error() != "fn failed" {
		t.Fatalf("fn's error lost: %v", err)
	}
	if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mount point left: %v", err)
	}
}

func TestMountBadInput(t *testing.T) {
	if err := mount.All(nil, t.TempDir()); !errors.Is(err, mount.ErrInvalid) {
		t.Fatalf("no mounts: %v", err)
	}
	if err := mount.UnmountAll(t.TempDir()); err != nil {
		t.Fatalf("unmount of a plain directory: %v", err)
	}
}
