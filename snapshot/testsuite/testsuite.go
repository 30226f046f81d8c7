// Package testsuite is the conformance suite every snapshot.Snapshotter
// passes. Tests that mount need root and are skipped otherwise.
package testsuite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/snapshot"
)

// Factory opens a snapshotter rooted at root (reopening an existing one
// when root already holds one).
type Factory func(root string) (snapshot.Snapshotter, error)

// Settler is a snapshotter whose Remove leaves part of its work (a
// backend snapshot's data) to finish in the background; Settle waits
// until what was removed so far is gone. The suite calls it before it
// looks at the disk.
type Settler interface {
	Settle()
}

// settle waits for sn's background removals, if it has any.
func settle(sn snapshot.Snapshotter) {
	if s, ok := sn.(Settler); ok {
		s.Settle()
	}
}

// RunTestSuite runs the snapshotter conformance tests.
func RunTestSuite(t *testing.T, name string, factory Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, string, Factory)
	}{
		{"Lifecycle", testLifecycle},
		{"Errors", testErrors},
		{"Labels", testLabels},
		{"Reopen", testReopen},
		{"LayerChain", testLayerChain},
		{"ViewReadOnly", testViewReadOnly},
		{"Usage", testUsage},
	}
	for _, tc := range tests {
		t.Run(name+"/"+tc.name, func(t *testing.T) {
			tc.fn(t, t.TempDir(), factory)
		})
	}
}

func open(t *testing.T, root string, f Factory) snapshot.Snapshotter {
	t.Helper()
	sn, err := f(root)
	if err != nil {
		t.Fatalf("open snapshotter: %v", err)
	}
	t.Cleanup(func() { _ = sn.Close() })
	return sn
}

func testLifecycle(t *testing.T, root string, f Factory) {
	ctx := context.Background()
	sn := open(t, root, f)
	mounts, err := sn.Prepare(ctx, "a", "", nil)
	if err != nil || len(mounts) == 0 {
		t.Fatalf("prepare: %v %v", mounts, err)
	}
	if info, err := sn.Stat(ctx, "a"); err != nil || info.Kind != snapshot.KindActive {
		t.Fatalf("stat a: %+v %v", info, err)
	}
	if err := sn.Commit(ctx, "c1", "a", map[string]string{"l": "v"}); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if _, err := sn.Stat(ctx, "a"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("active key survives commit: %v", err)
	}
	info, err := sn.Stat(ctx, "c1")
	if err != nil || info.Kind != snapshot.KindCommitted || info.Labels["l"] != "v" {
		t.Fatalf("stat c1: %+v %v", info, err)
	}
	if _, err := sn.Prepare(ctx, "b", "c1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.View(ctx, "v", "c1", nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := sn.Stat(ctx, "b"); info.Parent != "c1" {
		t.Fatalf("parent of b = %q", info.Parent)
	}
	seen := map[string]snapshot.Kind{}
	must(t, sn.Walk(ctx, func(i snapshot.Info) error { seen[i.Name] = i.Kind; return nil }))
	if len(seen) != 3 || seen["v"] != snapshot.KindView {
		t.Fatalf("walk: %v", seen)
	}
	if err := sn.Remove(ctx, "c1"); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("remove with children: want ErrInvalid, got %v", err)
	}
	for _, k := range []string{"b", "v", "c1"} {
		if err := sn.Remove(ctx, k); err != nil {
			t.Fatalf("remove %s: %v", k, err)
		}
	}
	if err := sn.Remove(ctx, "c1"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	settle(sn)
	ents, _ := os.ReadDir(filepath.Join(root, "snapshots"))
	if len(ents) != 0 {
		t.Fatalf("directories left after removing everything: %v", ents)
	}
}

func testErrors(t *testing.T, root string, f Factory) {
	ctx := context.Background()
	sn := open(t, root, f)
	if _, err := sn.Prepare(ctx, "a", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Prepare(ctx, "a", "", nil); !errors.Is(err, snapshot.ErrAlreadyExists) {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := sn.Prepare(ctx, "b", "missing", nil); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("missing parent: %v", err)
	}
	if _, err := sn.Prepare(ctx, "b", "a", nil); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("active parent: %v", err)
	}
	if _, err := sn.Prepare(ctx, "", "", nil); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if err := sn.Commit(ctx, "x", "missing", nil); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("commit missing: %v", err)
	}
	if err := sn.Commit(ctx, "c", "a", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Commit(ctx, "c2", "c", nil); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("commit of committed: %v", err)
	}
	if _, err := sn.Prepare(ctx, "a2", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Commit(ctx, "c", "a2", nil); !errors.Is(err, snapshot.ErrAlreadyExists) {
		t.Fatalf("commit onto existing name: %v", err)
	}
	if _, err := sn.Stat(ctx, "a2"); err != nil {
		t.Fatalf("failed commit lost the active snapshot: %v", err)
	}
	if _, err := sn.Mounts(ctx, "c"); !errors.Is(err, snapshot.ErrInvalid) {
		t.Fatalf("mounts of committed: %v", err)
	}
	if _, err := sn.Mounts(ctx, "missing"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("mounts of missing: %v", err)
	}
	// Failed calls leave no directories behind: a and a2 (committed c) only.
	ents, _ := os.ReadDir(filepath.Join(root, "snapshots"))
	if len(ents) != 2 {
		t.Fatalf("snapshot directories: %d, want 2", len(ents))
	}
}

func testLabels(t *testing.T, root string, f Factory) {
	ctx := context.Background()
	sn := open(t, root, f)
	if _, err := sn.Prepare(ctx, "a", "", map[string]string{"x": "1", "y": "2"}); err != nil {
		t.Fatal(err)
	}
	info, err := sn.Update(ctx, snapshot.Info{Name: "a", Labels: map[string]string{"z": "3"}}, "labels.z", "labels.x")
	if err != nil || info.Labels["z"] != "3" || info.Labels["y"] != "2" || info.Labels["x"] != "" {
		t.Fatalf("update: %+v %v", info.Labels, err)
	}
	if _, err := sn.Update(ctx, snapshot.Info{Name: "a"}, "parent"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("update parent: %v", err)
	}
	if _, err := sn.Update(ctx, snapshot.Info{Name: "nope"}); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func testReopen(t *testing.T, root string, f Factory) {
	ctx := context.Background()
	sn, err := f(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Prepare(ctx, "a", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Commit(ctx, "c", "a", nil); err != nil {
		t.Fatal(err)
	}
	if err := sn.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash leftover: a directory with no record.
	must(t, os.MkdirAll(filepath.Join(root, "snapshots", "new-crashed", "fs"), 0o755))
	sn = open(t, root, f)
	if info, err := sn.Stat(ctx, "c"); err != nil || info.Kind != snapshot.KindCommitted {
		t.Fatalf("after reopen: %+v %v", info, err)
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", "new-crashed")); err == nil {
		t.Fatal("orphan directory not cleaned up on open")
	}
}

func testUsage(t *testing.T, root string, f Factory) {
	ctx := context.Background()
	sn := open(t, root, f)
	mounts, err := sn.Prepare(ctx, "a", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without mounting: a parentless active snapshot is a bind of its fs.
	src := mounts[0].Source
	if err := os.WriteFile(filepath.Join(src, "f"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := sn.Usage(ctx, "a")
	if err != nil || u.Size < 64<<10 || u.Inodes < 2 {
		t.Fatalf("usage %+v %v", u, err)
	}
	if err := sn.Commit(ctx, "c", "a", nil); err != nil {
		t.Fatal(err)
	}
	if u2, err := sn.Usage(ctx, "c"); err != nil || u2 != u {
		t.Fatalf("committed usage %+v vs %+v %v", u2, u, err)
	}
}

// mountTemp mounts a snapshot on a fresh directory, unmounted at cleanup.
func mountTemp(t *testing.T, mounts []snapshot.Mount) string {
	t.Helper()
	target := t.TempDir()
	if err := mount.All(mounts, target); err != nil {
		t.Fatalf("mount %+v: %v", mounts, err)
	}
	t.Cleanup(func() {
		if err := mount.UnmountAll(target); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return target
}

func unmount(t *testing.T, target string) {
	t.Helper()
	if err := mount.UnmountAll(target); err != nil {
		t.Fatal(err)
	}
}

// writeLayer prepares key on parent, lets fn change it through a mount,
// and commits it as name.
func writeLayer(t *testing.T, sn snapshot.Snapshotter, name, parent string, fn func(dir string)) {
	t.Helper()
	ctx := context.Background()
	mounts, err := sn.Prepare(ctx, name+"-active", parent, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := mountTemp(t, mounts)
	fn(dir)
	unmount(t, dir)
	if err := sn.Commit(ctx, name, name+"-active", nil); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testLayerChain(t *testing.T, root string, f Factory) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	ctx := context.Background()
	sn := open(t, root, f)
	writeLayer(t, sn, "l1", "", func(d string) {
		must(t, os.MkdirAll(filepath.Join(d, "a"), 0o755))
		must(t, os.MkdirAll(filepath.Join(d, "b"), 0o755))
		must(t, os.WriteFile(filepath.Join(d, "a/1"), []byte("one"), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "a/2"), []byte("two"), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "b/x"), []byte("x"), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "c"), []byte("c1"), 0o644))
		must(t, os.Link(filepath.Join(d, "c"), filepath.Join(d, "c-link")))
		must(t, os.Symlink("a/2", filepath.Join(d, "s")))
		must(t, os.Chown(filepath.Join(d, "b/x"), 1234, 5678))
	})
	writeLayer(t, sn, "l2", "l1", func(d string) {
		must(t, os.Remove(filepath.Join(d, "a/1")))
		must(t, os.WriteFile(filepath.Join(d, "a/3"), []byte("three"), 0o644))
		// Replace c (not write through it: c-link shares its inode).
		must(t, os.Remove(filepath.Join(d, "c")))
		must(t, os.WriteFile(filepath.Join(d, "c"), []byte("c2"), 0o644))
		must(t, os.RemoveAll(filepath.Join(d, "b")))
		must(t, os.Mkdir(filepath.Join(d, "b"), 0o700))
		must(t, os.WriteFile(filepath.Join(d, "b/y"), []byte("y"), 0o644))
	})
	writeLayer(t, sn, "l3", "l2", func(d string) {
		must(t, os.Remove(filepath.Join(d, "c")))
		must(t, os.WriteFile(filepath.Join(d, "d"), []byte("d"), 0o600))
	})
	check := func(dir string) {
		t.Helper()
		want := map[string]string{"a/2": "two", "a/3": "three", "b/y": "y", "d": "d", "c-link": "c1", "s": "two"}
		for p, w := range want {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil || string(b) != w {
				t.Errorf("%s = %q, %v; want %q", p, b, err, w)
			}
		}
		for _, p := range []string{"a/1", "b/x", "c"} {
			if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
				t.Errorf("%s should be hidden by a whiteout", p)
			}
		}
		if fi, err := os.Stat(filepath.Join(dir, "b")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("b: %v %v", fi, err)
		}
	}
	mounts, err := sn.View(ctx, "view", "l3", nil)
	must(t, err)
	check(mountTemp(t, mounts))
	mounts, err = sn.Prepare(ctx, "container", "l3", nil)
	must(t, err)
	dir := mountTemp(t, mounts)
	check(dir)
	must(t, os.WriteFile(filepath.Join(dir, "a/2"), []byte("changed"), 0o644))
	// The committed layers below are unchanged.
	mounts, err = sn.View(ctx, "view2", "l3", nil)
	must(t, err)
	check(mountTemp(t, mounts))
}

func testViewReadOnly(t *testing.T, root string, f Factory) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	ctx := context.Background()
	sn := open(t, root, f)
	writeLayer(t, sn, "l1", "", func(d string) {
		must(t, os.WriteFile(filepath.Join(d, "f"), []byte("f"), 0o644))
	})
	writeLayer(t, sn, "l2", "l1", func(d string) {
		must(t, os.WriteFile(filepath.Join(d, "g"), []byte("g"), 0o644))
	})
	for _, parent := range []string{"", "l1", "l2"} {
		mounts, err := sn.View(ctx, "v-"+parent, parent, nil)
		must(t, err)
		dir := mountTemp(t, mounts)
		if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o644); err == nil {
			t.Errorf("view on %q is writable", parent)
		}
	}
}
