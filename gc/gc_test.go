package gc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata/metadatatest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/gc"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
)

type env struct {
	db *metadata.DB
	cs content.Store
	sn snapshot.Snapshotter
}

func newEnv(t *testing.T) *env {
	db, cs, sn := metadatatest.Open(t)
	return &env{db: db, cs: cs, sn: sn}
}

func (e *env) blob(t *testing.T, ctx context.Context, ns, mediaType string, data []byte, labels map[string]string) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(data)
	cs := e.db.NamespacedContent(ns)
	w, err := cs.Writer(ctx, content.WriterOpts{Ref: d.String(), Expected: d})
	if err == nil {
		_, _ = w.Write(data)
		err = w.Commit(ctx, int64(len(data)), d, labels)
	}
	if err != nil && !errors.Is(err, content.ErrAlreadyExists) {
		t.Fatal(err)
	}
	if labels != nil && errors.Is(err, content.ErrAlreadyExists) {
		_, _ = cs.Update(ctx, content.Info{Digest: d, Labels: labels})
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// image stores an image with one config and the given layers, and its
// unpacked snapshot chain referenced from the config's label.
func (e *env) image(t *testing.T, ctx context.Context, ns, name string, layers ...string) {
	t.Helper()
	var descs []ocispec.Descriptor
	var diffIDs []digest.Digest
	for _, l := range layers {
		descs = append(descs, e.blob(t, ctx, ns, ocispec.MediaTypeImageLayer, []byte(l), nil))
		diffIDs = append(diffIDs, digest.FromString(l))
	}
	chain := snapshot.ChainIDs(diffIDs)
	sn, _ := e.db.NamespacedSnapshotter(ns, "overlay")
	parent := ""
	for _, c := range chain {
		if _, err := sn.Stat(ctx, c.String()); err != nil {
			if _, err := sn.Prepare(ctx, "extract-"+c.String(), parent, nil); err != nil {
				t.Fatal(err)
			}
			if err := sn.Commit(ctx, c.String(), "extract-"+c.String(), nil); err != nil {
				t.Fatal(err)
			}
		}
		parent = c.String()
	}
	cfgData, _ := json.Marshal(map[string]any{"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}, "name": name})
	cfg := e.blob(t, ctx, ns, ocispec.MediaTypeImageConfig, cfgData, map[string]string{gc.LabelRefSnapshot + "overlay": parent})
	mf, _ := json.Marshal(ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: descs})
	target := e.blob(t, ctx, ns, ocispec.MediaTypeImageManifest, mf, nil)
	if _, err := e.db.Images(ns).Create(ctx, metadata.Image{Name: name, Target: target}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) backendBlobs(t *testing.T) map[digest.Digest]bool {
	out := map[digest.Digest]bool{}
	_ = e.cs.Walk(context.Background(), func(i content.Info) error { out[i.Digest] = true; return nil })
	return out
}

func (e *env) backendSnapshots(t *testing.T) int {
	n := 0
	_ = e.sn.Walk(context.Background(), func(snapshot.Info) error { n++; return nil })
	return n
}

func TestSharedLayerSurvives(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.image(t, ctx, "default", "one", "shared-layer", "layer-only-in-one")
	e.image(t, ctx, "default", "two", "shared-layer", "layer-only-in-two")
	// 3 layers + 2 configs + 2 manifests; 3 snapshots (shared base + 2).
	if n := len(e.backendBlobs(t)); n != 7 {
		t.Fatalf("blobs before gc: %d", n)
	}
	if st, err := gc.Collect(ctx, e.db); err != nil || st.BlobsDeleted != 0 || st.SnapshotsRemoved != 0 {
		t.Fatalf("gc with both images removed things: %+v %v", st, err)
	}
	if err := e.db.Images("default").Delete(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	st, err := gc.Collect(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	if st.BlobsDeleted != 3 || st.SnapshotsRemoved != 1 {
		t.Fatalf("gc stats %+v: want 3 blobs (manifest, config, own layer) and 1 snapshot", st)
	}
	blobs := e.backendBlobs(t)
	for _, keep := range []string{"shared-layer", "layer-only-in-two"} {
		if !blobs[digest.FromString(keep)] {
			t.Errorf("%s was collected", keep)
		}
	}
	if blobs[digest.FromString("layer-only-in-one")] {
		t.Error("unreferenced layer kept")
	}
	if n := e.backendSnapshots(t); n != 2 {
		t.Fatalf("snapshots after gc: %d, want 2", n)
	}
	// The surviving image is intact: its snapshot chain is still there.
	sn, _ := e.db.NamespacedSnapshotter("default", "overlay")
	chain := snapshot.ChainID([]digest.Digest{digest.FromString("shared-layer"), digest.FromString("layer-only-in-two")})
	if _, err := sn.Stat(ctx, chain.String()); err != nil {
		t.Fatalf("surviving image's snapshot: %v", err)
	}
	// Deleting the last image empties everything.
	_ = e.db.Images("default").Delete(ctx, "two")
	if _, err := gc.Collect(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	if len(e.backendBlobs(t)) != 0 || e.backendSnapshots(t) != 0 {
		t.Fatalf("left after deleting all images: %v, %d snapshots", e.backendBlobs(t), e.backendSnapshots(t))
	}
}

func TestNamespacesKeepTheirOwn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.image(t, ctx, "a", "img", "layer")
	e.image(t, ctx, "b", "img", "layer")
	_ = e.db.Images("a").Delete(ctx, "img")
	if _, err := gc.Collect(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.NamespacedContent("a").Info(ctx, digest.FromString("layer")); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("a still references the layer: %v", err)
	}
	if _, err := e.db.NamespacedContent("b").Info(ctx, digest.FromString("layer")); err != nil {
		t.Fatalf("b lost its layer: %v", err)
	}
}

func TestLeaseProtectsPull(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.db.Leases("default").Create(ctx, "pull", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	lctx := metadata.WithLease(ctx, "pull")
	layer := e.blob(t, lctx, "default", ocispec.MediaTypeImageLayer, []byte("downloaded, no image yet"), nil)
	sn, _ := e.db.NamespacedSnapshotter("default", "overlay")
	if _, err := sn.Prepare(lctx, "unpacking", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Commit(lctx, "chain", "unpacking", nil); err != nil {
		t.Fatal(err)
	}
	// An expired lease protects nothing and is removed.
	_, _ = e.db.Leases("default").Create(ctx, "old", time.Now().Add(-time.Minute), nil)
	e.blob(t, metadata.WithLease(ctx, "old"), "default", ocispec.MediaTypeImageLayer, []byte("abandoned"), nil)

	st, err := gc.Collect(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExpiredLeases != 1 || st.BlobsDeleted != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !e.backendBlobs(t)[layer.Digest] {
		t.Fatal("leased blob collected")
	}
	if _, err := sn.Stat(ctx, "chain"); err != nil {
		t.Fatalf("leased snapshot collected: %v", err)
	}
	_ = e.db.Leases("default").Delete(ctx, "pull")
	if _, err := gc.Collect(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	if len(e.backendBlobs(t)) != 0 || e.backendSnapshots(t) != 0 {
		t.Fatal("resources of a deleted lease survived")
	}
}

func TestRootsAndActiveSnapshots(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ref := e.blob(t, ctx, "default", "application/octet-stream", []byte("referenced"), nil)
	e.blob(t, ctx, "default", "application/octet-stream", []byte("root"), map[string]string{gc.LabelRoot: "", gc.LabelRefContent + ".x": ref.Digest.String()})
	sn, _ := e.db.NamespacedSnapshotter("default", "overlay")
	_, _ = sn.Prepare(ctx, "container-rootfs", "", nil)
	st, err := gc.Collect(ctx, e.db)
	if err != nil || st.BlobsDeleted != 0 || st.SnapshotsRemoved != 0 {
		t.Fatalf("roots collected: %+v %v", st, err)
	}
}

func TestCollectConcurrentWithWrites(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, _ = e.db.Leases("default").Create(ctx, "l", time.Time{}, nil)
	lctx := metadata.WithLease(ctx, "l")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			_, _ = gc.Collect(ctx, e.db)
		}
	}()
	var want []digest.Digest
	for i := 0; i < 50; i++ {
		d := e.blob(t, lctx, "default", "application/octet-stream", []byte{byte(i), 'x'}, nil)
		want = append(want, d.Digest)
	}
	<-done
	blobs := e.backendBlobs(t)
	for _, d := range want {
		if !blobs[d] {
			t.Fatalf("leased blob %s lost to a concurrent gc", d)
		}
		r, err := e.db.NamespacedContent("default").ReaderAt(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, io.NewSectionReader(r, 0, r.Size()))
		_ = r.Close()
	}
}

// TestContainerKeepsImageAndSnapshot checks a container record is a root:
// its image's manifest, config and layers and its active snapshot (with
// the image's chain) survive the image's deletion until the container
// goes.
func TestContainerKeepsImageAndSnapshot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.image(t, ctx, "default", "img", "layer-a")
	img, err := e.db.Images("default").Get(ctx, "img")
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := e.db.NamespacedSnapshotter("default", "overlay")
	chain := snapshot.ChainID([]digest.Digest{digest.FromString("layer-a")}).String()
	if _, err := sn.Prepare(ctx, "ctr-1", chain, nil); err != nil {
		t.Fatal(err)
	}
	ctr := metadata.Container{ID: "c1", Name: "c1", ImageManifest: img.Target, Snapshotter: "overlay", SnapshotKey: "ctr-1"}
	if _, err := e.db.Containers().Create(ctx, "default", ctr); err != nil {
		t.Fatal(err)
	}
	_ = e.db.Images("default").Delete(ctx, "img")
	if st, err := gc.Collect(ctx, e.db); err != nil || st.BlobsDeleted != 0 || st.SnapshotsRemoved != 0 {
		t.Fatalf("gc with a container removed its image: %+v %v", st, err)
	}
	if err := sn.Remove(ctx, "ctr-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Containers().Delete(ctx, "default", "c1"); err != nil {
		t.Fatal(err)
	}
	if st, err := gc.Collect(ctx, e.db); err != nil || st.BlobsDeleted != 3 || st.SnapshotsRemoved != 1 {
		t.Fatalf("gc after the container went: %+v %v, want 3 blobs and 1 snapshot", st, err)
	}
}
