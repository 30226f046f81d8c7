package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
	"github.com/berth-dev/berth/snapshot"
)

// TestDiffMounts commits a base layer, changes an active snapshot on top
// of it, and checks that applying DiffMounts' layer to the base gives the
// active snapshot's tree, for both snapshotters.
func TestDiffMounts(t *testing.T) {
	testutil.RequireRoot(t)
	eachSnapshotter(t, func(t *testing.T, sn snapshot.Snapshotter) {
		ctx := context.Background()
		mounts, err := sn.Prepare(ctx, "base-active", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = mount.WithTempMount(mounts, func(root string) error {
			populateLower(t, root)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sn.Commit(ctx, "base", "base-active", nil); err != nil {
			t.Fatal(err)
		}
		upper, err := sn.Prepare(ctx, "container", "base", nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if err := mount.WithTempMount(upper, func(root string) error {
			changeUpper(t, root)
			want = tree(t, root)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		lower, err := sn.View(ctx, "base-view", "base", nil)
		if err != nil {
			t.Fatal(err)
		}
		var layer bytes.Buffer
		if err := archive.DiffMounts(ctx, &layer, lower, upper); err != nil {
			t.Fatal(err)
		}
		// Apply the diff to a copy of the base.
		target := t.TempDir()
		var base bytes.Buffer
		if err := archive.DiffMounts(ctx, &base, nil, lower); err != nil {
			t.Fatal(err)
		}
		for _, l := range []*bytes.Buffer{&base, &layer} {
			if _, err := archive.Apply(ctx, target, l, archive.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		got := tree(t, target)
		if len(got) != len(want) {
			t.Fatalf("base + diff:\n got %q\nwant %q", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("base + diff: %q, want %q", got[i], want[i])
			}
		}
		if _, err := os.Stat(filepath.Join(target, "added-link")); err != nil {
			t.Fatal(err)
		}
	})
}
