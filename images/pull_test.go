package images_test

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/gc"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/native"
	"github.com/berth-dev/berth/snapshot/overlay"
)

type env struct {
	puller *images.Puller
	db     *metadata.DB
	imgs   images.Store
	sn     snapshot.Snapshotter // the default namespace's view
}

func newEnv(t *testing.T, snapshotter string) *env {
	t.Helper()
	dir := t.TempDir()
	cs, err := local.NewStore(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	var backend snapshot.Snapshotter
	if snapshotter == "overlay" {
		backend, err = overlay.New(filepath.Join(dir, "overlay"))
	} else {
		backend, err = native.New(filepath.Join(dir, "native"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	db, err := metadata.Open(filepath.Join(dir, "meta.db"), cs, map[string]snapshot.Snapshotter{snapshotter: backend})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sn, err := db.NamespacedSnapshotter("default", snapshotter)
	if err != nil {
		t.Fatal(err)
	}
	nsc := db.NamespacedContent("default")
	imgs := images.MetadataStore(db)
	c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: t.TempDir()}})
	return &env{puller: &images.Puller{Client: c, Content: nsc, Unpacker: &images.Unpacker{Content: nsc, Snapshotter: sn}, Images: imgs, SnapshotterName: snapshotter}, db: db, imgs: imgs, sn: sn}
}

// checkTree mounts a view of chain and checks the multi-layer image's
// whiteouts were applied.
func checkTree(t *testing.T, sn snapshot.Snapshotter, chain string) {
	t.Helper()
	ctx := context.Background()
	key := "berth-test-view-" + filepath.Base(t.TempDir())
	mounts, err := sn.View(ctx, key, chain, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Remove(ctx, key)
	target := t.TempDir()
	if err := mount.All(mounts, target); err != nil {
		t.Fatal(err)
	}
	defer mount.UnmountAll(target)
	for _, p := range []string{"bin/busybox", "etc/keep", "etc/dir/new", "data/b"} {
		if _, err := os.Lstat(filepath.Join(target, p)); err != nil {
			t.Errorf("%s missing: %v", p, err)
		}
	}
	for _, p := range []string{"etc/gone", "etc/dir/old", "data/a", "etc/.wh.gone", "etc/dir/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(target, p)); !os.IsNotExist(err) {
			t.Errorf("%s should be gone: %v", p, err)
		}
	}
}

func TestPullUnpackWhiteouts(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	for _, c := range []registrytest.Compression{registrytest.Gzip, registrytest.Zstd, registrytest.Uncompressed} {
		img, err := registrytest.MultiLayerImage(c)
		if err != nil {
			t.Fatal(err)
		}
		reg.PushImage(t, "test/ml", c.String(), img)
	}
	ctx := context.Background()
	for _, sname := range []string{"overlay", "native"} {
		e := newEnv(t, sname)
		for _, c := range []string{"gzip", "zstd", "uncompressed"} {
			var states []distribution.State
			res, err := e.puller.Pull(ctx, reg.Host+"/test/ml:"+c, images.PullOptions{Progress: func(p distribution.Progress) {
				if p.Kind == "layer" {
					states = append(states, p.State)
				}
			}})
			if err != nil {
				t.Fatalf("%s/%s: %v", sname, c, err)
			}
			checkTree(t, e.sn, res.ChainID.String())
			if len(states) == 0 || states[len(states)-1] != distribution.StateDone {
				t.Errorf("progress states: %v", states)
			}
		}
		if imgs, _ := e.imgs.List(ctx, "default"); len(imgs) != 3 {
			t.Fatalf("want 3 images, got %d", len(imgs))
		}
		if imgs, _ := e.imgs.List(ctx, "other"); len(imgs) != 0 {
			t.Fatal("namespace leak")
		}
		// While the images exist, GC keeps their blobs and snapshots.
		if r, err := gc.Collect(ctx, e.db); err != nil || r.BlobsDeleted != 0 || r.SnapshotsRemoved != 0 {
			t.Fatalf("GC with live images: %+v %v", r, err)
		}
		last, _ := e.imgs.Get(ctx, "default", reg.Host+"/test/ml:zstd")
		res, err := images.ResolveManifest(ctx, e.puller.Content, last.Target, platforms.Default())
		if err != nil {
			t.Fatal(err)
		}
		checkTree(t, e.sn, images.ChainIDs(res.Config.RootFS.DiffIDs)[2].String())
		// rmi everything, GC, and nothing remains.
		for _, c := range []string{"gzip", "zstd", "uncompressed"} {
			if err := e.imgs.Delete(ctx, "default", reg.Host+"/test/ml:"+c); err != nil {
				t.Fatal(err)
			}
		}
		r, err := gc.Collect(ctx, e.db)
		if err != nil {
			t.Fatal(err)
		}
		if r.BlobsDeleted == 0 || r.SnapshotsRemoved == 0 {
			t.Fatalf("GC removed %+v", r)
		}
		n := 0
		_ = e.sn.Walk(ctx, func(snapshot.Info) error { n++; return nil })
		if n != 0 {
			t.Fatalf("%d snapshots left after GC", n)
		}
	}
}

func TestDiffIDMismatchLeavesNoSnapshot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	e1, err := registrytest.BusyboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	img, err := registrytest.BuildImage([][]registrytest.Entry{e1}, registrytest.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild with a wrong diff_id in the config.
	bad, err := registrytest.BuildImage([][]registrytest.Entry{e1[:2]}, registrytest.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad.Layers = img.Layers
	bad2, err := registrytest.RebuildManifest(bad)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/bad", "v1", bad2)
	e := newEnv(t, "overlay")
	_, err = e.puller.Pull(context.Background(), reg.Host+"/test/bad:v1", images.PullOptions{})
	if !errors.Is(err, images.ErrDiffIDMismatch) {
		t.Fatalf("want diff_id mismatch, got %v", err)
	}
	n := 0
	_ = e.sn.Walk(context.Background(), func(snapshot.Info) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d snapshots left", n)
	}
	if imgs, _ := e.imgs.List(context.Background(), "default"); len(imgs) != 0 {
		t.Fatal("image recorded after failed pull")
	}
}

func TestHardlinkToLowerLayer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	bb, err := registrytest.BusyboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	l2 := []registrytest.Entry{{Name: "etc/hostname-link", Type: tar.TypeLink, Linkname: "etc/hostname"}}
	img, err := registrytest.BuildImage([][]registrytest.Entry{bb, l2}, registrytest.ImageOptions{Compression: registrytest.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/link", "v1", img)
	for _, sname := range []string{"overlay", "native"} {
		e := newEnv(t, sname)
		res, err := e.puller.Pull(context.Background(), reg.Host+"/test/link:v1", images.PullOptions{})
		if err != nil {
			t.Fatalf("%s: %v", sname, err)
		}
		ctx := context.Background()
		key := "berth-test-view-link-" + sname
		mounts, err := e.sn.View(ctx, key, res.ChainID.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		target := t.TempDir()
		if err := mount.All(mounts, target); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(target, "etc/hostname-link"))
		_ = mount.UnmountAll(target)
		_ = e.sn.Remove(ctx, key)
		if err != nil || string(b) != "berth\n" {
			t.Fatalf("%s: link content %q %v", sname, b, err)
		}
	}
}
