package archive_test

import (
	"archive/tar"
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/native"
	"github.com/berth-dev/berth/snapshot/overlay"
)

func layer(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		body := files[name]
		hdr := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(body))}
		if name[len(name)-1] == '/' {
			hdr = &tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		_ = tw.WriteHeader(hdr)
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	return buf.Bytes()
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestApplyToSnapshots unpacks a three-layer image with whiteouts and an
// opaque directory into both snapshotters and checks the merged view.
func TestApplyToSnapshots(t *testing.T) {
	testutil.RequireRoot(t)
	eachSnapshotter(t, func(t *testing.T, sn snapshot.Snapshotter) {
		ctx := context.Background()
		layers := [][]byte{
			layer(t, map[string]string{"etc/": "", "etc/a": "a1", "etc/b": "b1", "opq/": "", "opq/old": "old", "gone": "g"}),
			layer(t, map[string]string{"etc/": "", "etc/a": "a2", "etc/.wh.b": "", "opq/": "", "opq/.wh..wh..opq": "", "opq/new": "new"}),
			layer(t, map[string]string{".wh.gone": "", "added": "x"}),
		}
		parent := ""
		for i, l := range layers {
			key := "layer" + string(rune('0'+i))
			mounts, err := sn.Prepare(ctx, key+"-extract", parent, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := archive.ApplyToMounts(ctx, mounts, bytes.NewReader(l), archive.ApplyOptions{}); err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			if err := sn.Commit(ctx, key, key+"-extract", nil); err != nil {
				t.Fatal(err)
			}
			parent = key
		}
		mounts, err := sn.View(ctx, "check", parent, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := mount.All(mounts, dir); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = mount.UnmountAll(dir) }()
		for p, want := range map[string]string{"etc/a": "a2", "opq/new": "new", "added": "x"} {
			if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != want {
				t.Errorf("%s = %q %v, want %q", p, b, err, want)
			}
		}
		for _, p := range []string{"etc/b", "opq/old", "gone"} {
			if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
				t.Errorf("%s visible through a whiteout", p)
			}
		}
	})
}

// eachSnapshotter runs fn, leak-checked, against a fresh overlay and a
// fresh native snapshotter.
func eachSnapshotter(t *testing.T, fn func(t *testing.T, sn snapshot.Snapshotter)) {
	for name, open := range map[string]func(string) (snapshot.Snapshotter, error){"overlay": overlay.New, "native": native.New} {
		t.Run(name, func(t *testing.T) {
			testutil.CheckLeaks(t)
			sn, err := open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sn.Close() }()
			fn(t, sn)
		})
	}
}
