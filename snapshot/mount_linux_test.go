package snapshot_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/snapshot"
)

func TestWithTempMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen string
	err := snapshot.WithTempMount([]snapshot.Mount{{Type: "bind", Source: src, Options: []string{"ro", "rbind"}}}, func(root string) error {
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
	if err := snapshot.MountAll(nil, t.TempDir()); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("no mounts: %v", err)
	}
	if err := snapshot.UnmountAll(t.TempDir()); err != nil {
		t.Fatalf("unmount of a plain directory: %v", err)
	}
}

func TestChainID(t *testing.T) {
	// Values from image-spec's identity test vectors.
	d1 := digest.Digest("sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4")
	d2 := digest.Digest("sha256:18d1b7ec8cf27ea8c9ff2e28fd3ab2f4af2f4b2ebc3b0a9daed1f9ea0d4f2d09")
	if got := snapshot.ChainID([]digest.Digest{d1}); got != d1 {
		t.Fatalf("single layer chain id %s", got)
	}
	want := digest.FromString(d1.String() + " " + d2.String())
	if got := snapshot.ChainID([]digest.Digest{d1, d2}); got != want {
		t.Fatalf("chain id %s, want %s", got, want)
	}
	ids := snapshot.ChainIDs([]digest.Digest{d1, d2})
	if len(ids) != 2 || ids[0] != d1 || ids[1] != want {
		t.Fatalf("chain ids %v", ids)
	}
	if ref := identity.ChainID([]digest.Digest{d1, d2}); ref != want {
		t.Fatalf("image-spec says %s", ref)
	}
	if snapshot.ChainID(nil) != "" {
		t.Fatal("empty chain id")
	}
}
