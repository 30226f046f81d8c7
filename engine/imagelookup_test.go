package engine_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestImageLookupSharedID checks that an image with several names is one
// image by ID, ID prefix and repository digest: Lookup and ImageNames
// find it, Delete by ID refuses without force (as Docker's rmi) and with
// force removes every name, leaving no blob or snapshot.
func TestImageLookupSharedID(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	ref := reg.Host + "/test/busybox:v1"
	dir := t.TempDir()
	ctx := t.Context()
	e, err := engine.New(ctx, engine.Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Registry: engine.RegistryConfig{CertsDir: filepath.Join(dir, "certs.d")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	const ns = "default"
	if _, err := e.Pull(ctx, ns, ref, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	names := []string{ref, "localhost/copy:1", "example.com/other/busybox:2"}
	for _, n := range names[1:] {
		if _, err := e.Tag(ctx, ns, ref, n); err != nil {
			t.Fatal(err)
		}
	}
	id := img.Config.Digest.String()
	repoDigest := reg.Host + "/test/busybox@" + img.Manifest.Digest.String()
	for _, q := range []string{id, id[:19], img.Config.Digest.Encoded(), repoDigest, "example.com/other/busybox@" + img.Manifest.Digest.String()} {
		got, err := e.Lookup(ctx, ns, q)
		if err != nil || got.Target.Digest != img.Manifest.Digest {
			t.Errorf("Lookup(%s) = %+v, %v", q, got, err)
		}
		all, err := e.ImageNames(ctx, ns, q)
		if err != nil || len(all) != len(names) {
			t.Errorf("ImageNames(%s) = %d records, %v; want %d", q, len(all), err, len(names))
		}
	}
	for _, q := range []string{"sha256:0000000000", "localhost/copy@" + id, reg.Host + "/test/other@" + img.Manifest.Digest.String()} {
		if _, err := e.Lookup(ctx, ns, q); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Lookup(%s): %v, want not found", q, err)
		}
	}
	if err := e.Delete(ctx, ns, id, engine.DeleteOptions{}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("delete by ID without force: %v, want a conflict", err)
	}
	if list, err := e.List(ctx, ns); err != nil || len(list) != len(names) {
		t.Fatalf("after a refused delete: %d images, %v", len(list), err)
	}
	if err := e.Delete(ctx, ns, id[:16], engine.DeleteOptions{Force: true, Sync: true}); err != nil {
		t.Fatal(err)
	}
	deleteAll(ctx, t, e, ns)
}
