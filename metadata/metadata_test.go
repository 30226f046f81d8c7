package metadata_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata/metadatatest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/overlay"
	"github.com/berth-dev/berth/snapshot/testsuite"
)

func openDB(t *testing.T) *metadata.DB {
	db, _, _ := metadatatest.Open(t)
	return db
}

func put(t *testing.T, cs content.Store, ctx context.Context, data string, labels map[string]string) ocispec.Descriptor {
	t.Helper()
	d := digest.FromString(data)
	w, err := cs.Writer(ctx, content.WriterOpts{Ref: "ref-" + d.Encoded(), Expected: d})
	if err != nil {
		if errors.Is(err, content.ErrAlreadyExists) {
			return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(data))}
		}
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, data)
	if err := w.Commit(ctx, int64(len(data)), d, labels); err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(data))}
}

func TestValidateNamespace(t *testing.T) {
	for _, ok := range []string{"default", "k8s.io", "a", "a-b.c9", strings.Repeat("a", 76)} {
		if err := metadata.ValidateNamespace(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Default", "-a", "a-", "a/b", "a b", "../x", strings.Repeat("a", 77), "a\x00", "a..b", "a.-b"} {
		if err := metadata.ValidateNamespace(bad); !errors.Is(err, metadata.ErrInvalidArgument) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	nss := db.Namespaces()
	if err := nss.Create(ctx, "default", map[string]string{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Create(ctx, "default", nil); !errors.Is(err, metadata.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := nss.Create(ctx, "Bad/NS", nil); !errors.Is(err, metadata.ErrInvalidArgument) {
		t.Fatalf("bad name: %v", err)
	}
	if l, err := nss.Labels(ctx, "default"); err != nil || l["x"] != "y" {
		t.Fatalf("labels %v %v", l, err)
	}
	desc := put(t, db.NamespacedContent("k8s.io"), ctx, "manifest", nil)
	if _, err := db.Images("k8s.io").Create(ctx, metadata.Image{Name: "img", Target: desc}); err != nil {
		t.Fatal(err)
	}
	list, _ := nss.List(ctx)
	if len(list) != 2 {
		t.Fatalf("namespaces %v", list)
	}
	if err := nss.Delete(ctx, "k8s.io"); !errors.Is(err, metadata.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	_ = db.Images("k8s.io").Delete(ctx, "img")
	_ = db.NamespacedContent("k8s.io").Delete(ctx, desc.Digest)
	if err := nss.Delete(ctx, "k8s.io"); err != nil {
		t.Fatalf("delete emptied: %v", err)
	}
	if err := nss.Delete(ctx, "k8s.io"); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestImages(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	imgs := db.Images("default")
	desc := put(t, db.NamespacedContent("default"), ctx, "m1", nil)
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("nope"), Size: 4}
	if _, err := imgs.Create(ctx, metadata.Image{Name: "a", Target: missing}); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("image before its blob: %v", err)
	}
	if _, err := imgs.Create(ctx, metadata.Image{Name: "", Target: desc}); !errors.Is(err, metadata.ErrInvalidArgument) {
		t.Fatalf("empty name: %v", err)
	}
	img, err := imgs.Create(ctx, metadata.Image{Name: "docker.io/library/busybox:latest", Target: desc, Labels: map[string]string{"a": "1"}})
	if err != nil || img.CreatedAt.IsZero() {
		t.Fatalf("create: %+v %v", img, err)
	}
	if _, err := imgs.Create(ctx, img); !errors.Is(err, metadata.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := db.Images("other").Get(ctx, img.Name); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("visible in another namespace: %v", err)
	}
	desc2 := put(t, db.NamespacedContent("default"), ctx, "m2", nil)
	img.Target = desc2
	img.Labels = map[string]string{"b": "2"}
	up, err := imgs.Update(ctx, img, "target", "labels.b")
	if err != nil || up.Target.Digest != desc2.Digest || up.Labels["a"] != "1" || up.Labels["b"] != "2" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := imgs.Update(ctx, img, "name"); !errors.Is(err, metadata.ErrInvalidArgument) {
		t.Fatalf("update name: %v", err)
	}
	list, err := imgs.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	if err := imgs.Delete(ctx, img.Name); err != nil {
		t.Fatal(err)
	}
	if err := imgs.Delete(ctx, img.Name); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestNamespacedContent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a, b := db.NamespacedContent("a"), db.NamespacedContent("b")
	desc := put(t, a, ctx, "shared blob", map[string]string{"berth.io/gc.ref.content.x": "sha256:abc"})
	if _, err := b.Info(ctx, desc.Digest); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("blob visible in other namespace: %v", err)
	}
	if _, err := b.ReaderAt(ctx, desc.Digest); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("readable in other namespace: %v", err)
	}
	// Writing a blob another namespace has shares it without a download.
	if _, err := b.Writer(ctx, content.WriterOpts{Ref: "x", Expected: desc.Digest}); !errors.Is(err, content.ErrAlreadyExists) {
		t.Fatalf("writer of shared blob: %v", err)
	}
	info, err := b.Info(ctx, desc.Digest)
	if err != nil || len(info.Labels) != 0 {
		t.Fatalf("shared blob in b: %+v %v (labels are per namespace)", info, err)
	}
	if info, _ := a.Info(ctx, desc.Digest); info.Labels["berth.io/gc.ref.content.x"] == "" {
		t.Fatalf("labels lost in a: %+v", info)
	}
	// Ingests are per namespace.
	w, err := a.Writer(ctx, content.WriterOpts{Ref: "partial", Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "half")
	_ = w.Close()
	if st, _ := a.ListStatuses(ctx); len(st) != 1 || st[0].Ref != "partial" || st[0].Offset != 4 {
		t.Fatalf("statuses in a: %+v", st)
	}
	if st, _ := b.ListStatuses(ctx); len(st) != 0 {
		t.Fatalf("statuses leak into b: %+v", st)
	}
	if err := a.Abort(ctx, "partial"); err != nil {
		t.Fatal(err)
	}
	// A corrupt blob is rejected and recorded nowhere.
	w, _ = a.Writer(ctx, content.WriterOpts{Ref: "bad", Expected: digest.FromString("good")})
	_, _ = io.WriteString(w, "evil")
	if err := w.Commit(ctx, 4, digest.FromString("good"), nil); !errors.Is(err, content.ErrDigestMismatch) {
		t.Fatalf("corrupt commit: %v", err)
	}
	n := 0
	_ = a.Walk(ctx, func(content.Info) error { n++; return nil })
	if n != 1 {
		t.Fatalf("a has %d blobs, want 1", n)
	}
}

func TestLeases(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ls := db.Leases("default")
	if _, err := ls.Create(ctx, "pull-1", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Create(ctx, "pull-1", time.Time{}, nil); !errors.Is(err, metadata.ErrAlreadyExists) {
		t.Fatalf("duplicate lease: %v", err)
	}
	lctx := metadata.WithLease(ctx, "pull-1")
	desc := put(t, db.NamespacedContent("default"), lctx, "leased", nil)
	res, err := ls.ListResources(ctx, "pull-1")
	if err != nil || len(res) != 1 || res[0].Type != "content" || res[0].ID != desc.Digest.String() {
		t.Fatalf("resources %+v %v", res, err)
	}
	if err := ls.AddResource(ctx, "pull-1", metadata.Resource{Type: "bogus", ID: "x"}); !errors.Is(err, metadata.ErrInvalidArgument) {
		t.Fatalf("bogus resource: %v", err)
	}
	if err := ls.Delete(ctx, "pull-1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := ls.List(ctx); len(l) != 0 {
		t.Fatalf("leases after delete: %v", l)
	}
}

// nsSnapshotter wraps a namespaced snapshotter so the suite's Close also
// closes what the factory opened.
type nsSnapshotter struct {
	snapshot.Snapshotter
	close func() error
}

func (s nsSnapshotter) Close() error { return s.close() }

// Settle waits for the backend removals Remove queued.
func (s nsSnapshotter) Settle() { s.Snapshotter.(testsuite.Settler).Settle() }

func TestNamespacedSnapshotterConformance(t *testing.T) {
	testsuite.RunTestSuite(t, "namespaced-overlay", func(root string) (snapshot.Snapshotter, error) {
		sn, err := overlay.New(root)
		if err != nil {
			return nil, err
		}
		cs, err := local.NewStore(filepath.Join(root, "content"))
		if err != nil {
			return nil, err
		}
		db, err := metadata.Open(filepath.Join(root, "meta.db"), cs, map[string]snapshot.Snapshotter{"overlay": sn})
		if err != nil {
			return nil, err
		}
		ns, err := db.NamespacedSnapshotter("default", "overlay")
		if err != nil {
			return nil, err
		}
		return nsSnapshotter{ns, func() error { _ = db.Close(); return sn.Close() }}, nil
	})
}

func TestSnapshotNamespaceIsolation(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a, _ := db.NamespacedSnapshotter("a", "overlay")
	b, _ := db.NamespacedSnapshotter("b", "overlay")
	if _, err := a.Prepare(ctx, "layer", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, "sha256:chain", "layer", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "sha256:chain"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("snapshot visible across namespaces: %v", err)
	}
	if _, err := b.Prepare(ctx, "c", "sha256:chain", nil); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("other namespace's parent usable: %v", err)
	}
	// The same key can exist independently in both.
	if _, err := b.Prepare(ctx, "layer", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NamespacedSnapshotter("a", "zfs"); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("unknown snapshotter: %v", err)
	}
}

// TestSnapshotCreateCommitsOnce: Prepare, View and Commit each commit the
// metadata database once (the record; the backend key is chosen with a
// read), also in a namespace's first snapshot, and a key removed and made
// again gets a new backend key.
func TestSnapshotCreateCommitsOnce(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	sn, err := db.NamespacedSnapshotter("fresh", "overlay")
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, f func() error) {
		t.Helper()
		before := metadata.LastWriteTx(db)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := metadata.LastWriteTx(db) - before; n != 1 {
			t.Fatalf("%s committed %d write transactions, want 1", what, n)
		}
	}
	step("first prepare", func() error { _, err := sn.Prepare(ctx, "layer", "", nil); return err })
	step("commit", func() error { return sn.Commit(ctx, "sha256:chain", "layer", nil) })
	step("prepare", func() error { _, err := sn.Prepare(ctx, "ctr", "sha256:chain", nil); return err })
	step("view", func() error { _, err := sn.View(ctx, "view", "sha256:chain", nil); return err })

	backend := func() string {
		t.Helper()
		refs, err := db.GCState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return refs["fresh"].Snapshots["overlay"]["ctr"].BackendKey
	}
	first := backend()
	if err := sn.Remove(ctx, "ctr"); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Prepare(ctx, "ctr", "sha256:chain", nil); err != nil {
		t.Fatal(err)
	}
	if again := backend(); again == first || again == "" {
		t.Fatalf("the key made again has backend key %q, the first had %q", again, first)
	}
	if _, err := sn.Prepare(ctx, "ctr", "", nil); !errors.Is(err, snapshot.ErrAlreadyExists) {
		t.Fatalf("prepare of a taken key: %v", err)
	}
}

// TestSnapshotRemoveFinishesBehind: Remove takes the record at once and
// the backend snapshot just after, in the order of the removals (a child
// before its parent, which the backend refuses the other way round);
// Settle, the collector's lock and Close wait for what is queued.
func TestSnapshotRemoveFinishesBehind(t *testing.T) {
	ctx := context.Background()
	db, _, backend := metadatatest.Open(t)
	sn, err := db.NamespacedSnapshotter("default", "overlay")
	if err != nil {
		t.Fatal(err)
	}
	for _, wait := range []struct {
		name string
		fn   func()
	}{
		{"Settle", func() { sn.(testsuite.Settler).Settle() }},
		{"LockGC", func() { db.LockGC(); db.UnlockGC() }},
	} {
		layerAndContainer(t, sn)
		if n := len(backendKeys(t, backend)); n != 2 {
			t.Fatalf("backend snapshots before the removals: %d, want 2", n)
		}
		for _, k := range []string{"ctr", "base"} {
			if err := sn.Remove(ctx, k); err != nil {
				t.Fatal(err)
			}
			if _, err := sn.Stat(ctx, k); !errors.Is(err, snapshot.ErrNotFound) {
				t.Fatalf("%s: stat after Remove: %v, want not found", k, err)
			}
		}
		wait.fn()
		if left := backendKeys(t, backend); len(left) != 0 {
			t.Fatalf("after %s: backend snapshots left: %v", wait.name, left)
		}
	}
	layerAndContainer(t, sn)
	for _, k := range []string{"ctr", "base"} {
		if err := sn.Remove(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if left := backendKeys(t, backend); len(left) != 0 {
		t.Fatalf("after Close: backend snapshots left: %v", left)
	}
}

// TestDeleteContainerAndSnapshot: a container's record and its
// snapshot's go in one commit; the backend snapshot stays until the
// returned function queues its removal; on an error (no such container,
// a snapshot with a child) nothing is deleted.
func TestDeleteContainerAndSnapshot(t *testing.T) {
	ctx := context.Background()
	db, _, backend := metadatatest.Open(t)
	sn, err := db.NamespacedSnapshotter("default", "overlay")
	if err != nil {
		t.Fatal(err)
	}
	layerAndContainer(t, sn)
	if _, err := db.Containers().Create(ctx, "default", metadata.Container{ID: "c1", Name: "c1", Snapshotter: "overlay", SnapshotKey: "ctr"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteContainerAndSnapshot(ctx, "default", "nosuch", "overlay", "ctr"); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("no such container: %v, want not found", err)
	}
	if _, err := db.DeleteContainerAndSnapshot(ctx, "default", "c1", "overlay", "base"); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("a snapshot with a child: %v, want invalid", err)
	}
	if _, err := db.Containers().Get(ctx, "default", "c1"); err != nil {
		t.Fatalf("a failed delete took the container's record: %v", err)
	}
	if _, err := sn.Stat(ctx, "ctr"); err != nil {
		t.Fatalf("a failed delete took the snapshot's record: %v", err)
	}

	before := metadata.LastWriteTx(db)
	removeBackend, err := db.DeleteContainerAndSnapshot(ctx, "default", "c1", "overlay", "ctr")
	if err != nil {
		t.Fatal(err)
	}
	if n := metadata.LastWriteTx(db) - before; n != 1 {
		t.Fatalf("%d commits, want 1", n)
	}
	if _, err := db.Containers().Get(ctx, "default", "c1"); !errors.Is(err, metadata.ErrNotFound) {
		t.Fatalf("the container's record: %v, want gone", err)
	}
	if _, err := sn.Stat(ctx, "ctr"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("the snapshot's record: %v, want gone", err)
	}
	sn.(testsuite.Settler).Settle()
	if n := len(backendKeys(t, backend)); n != 2 {
		t.Fatalf("backend snapshots before the removal is queued: %d, want 2", n)
	}
	removeBackend()
	sn.(testsuite.Settler).Settle()
	if n := len(backendKeys(t, backend)); n != 1 {
		t.Fatalf("backend snapshots after it: %d, want 1 (the image's)", n)
	}
}

// layerAndContainer makes in sn a committed snapshot "base" and an
// active one on it, "ctr": an image's layer and a container's.
func layerAndContainer(t *testing.T, sn snapshot.Snapshotter) {
	t.Helper()
	ctx := context.Background()
	if _, err := sn.Prepare(ctx, "a", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Commit(ctx, "base", "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Prepare(ctx, "ctr", "base", nil); err != nil {
		t.Fatal(err)
	}
}

// backendKeys lists the backend's snapshots.
func backendKeys(t *testing.T, backend snapshot.Snapshotter) []string {
	t.Helper()
	var keys []string
	if err := backend.Walk(context.Background(), func(i snapshot.Info) error { keys = append(keys, i.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}
