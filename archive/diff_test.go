package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
)

// tree describes a directory: path → type and content.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		desc := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b)
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		}
		out = append(out, desc)
		return nil
	})
	sort.Strings(out)
	return out
}

func populateLower(t *testing.T, dir string) {
	t.Helper()
	mk := func(p, body string) {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("keep", "k")
	mk("gone", "g")
	mk("changed", "old")
	mk("opq/old1", "1")
	mk("opq/sub/old2", "2")
	mk("dir/gone-inside", "x")
	mk("dir/kept-inside", "y")
}

func changeUpper(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(dir, "gone")))
	must(os.WriteFile(filepath.Join(dir, "changed"), []byte("new!"), 0o600))
	must(os.RemoveAll(filepath.Join(dir, "opq")))
	must(os.Mkdir(filepath.Join(dir, "opq"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "opq/fresh"), []byte("f"), 0o644))
	must(os.Remove(filepath.Join(dir, "dir/gone-inside")))
	must(os.WriteFile(filepath.Join(dir, "added"), []byte("a"), 0o644))
	must(os.Link(filepath.Join(dir, "added"), filepath.Join(dir, "added-link")))
	must(os.Symlink("added", filepath.Join(dir, "sym")))
}

// copyDir copies a tree by writing a full diff of it against an empty dir.
func copyDir(t *testing.T, dst, src string) {
	t.Helper()
	var buf bytes.Buffer
	if err := archive.WriteDiff(context.Background(), &buf, t.TempDir(), src); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Apply(context.Background(), dst, &buf, archive.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteDiffRoundTrip(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	populateLower(t, lower)
	copyDir(t, upper, lower)
	changeUpper(t, upper)
	var layer bytes.Buffer
	if err := archive.WriteDiff(context.Background(), &layer, lower, upper); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Apply(context.Background(), lower, &layer, archive.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got, want := tree(t, lower), tree(t, upper)
	if len(got) != len(want) {
		t.Fatalf("after applying the diff:\n got %q\nwant %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("after applying the diff: %q, want %q", got[i], want[i])
		}
	}
}

func TestWriteOverlayDiffRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		_ = os.Mkdir(d, 0o755)
	}
	populateLower(t, lower)
	m := mount.Mount{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work}}
	if err := mount.All([]mount.Mount{m}, merged); err != nil {
		t.Fatal(err)
	}
	changeUpper(t, merged)
	want := tree(t, merged)
	if err := mount.UnmountAll(merged); err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	if err := archive.WriteOverlayDiff(context.Background(), &layer, upper); err != nil {
		t.Fatal(err)
	}
	// Applying the layer to a copy of lower by deletion gives the merged view.
	target := t.TempDir()
	copyDir(t, target, lower)
	if _, err := archive.Apply(context.Background(), target, &layer, archive.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got := tree(t, target)
	if len(got) != len(want) {
		t.Fatalf("merged view vs applied diff:\n got %q\nwant %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("merged view vs applied diff: %q, want %q", got[i], want[i])
		}
	}
}
