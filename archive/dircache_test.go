package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The applier keeps at most a few hundred directories open. Whatever the
// moment the cache fills up, a directory an entry is still using (the
// parent of a hard link while its target's directory is opened; the
// target's directory while an existing entry is replaced) stays open: a
// closed one fails with EBADF, and a number reused by another open would
// put the link into the wrong directory.
func TestDirCacheNeverClosesDirsInUse(t *testing.T) {
	// With n files in n directories after x and y, the cache empties
	// itself exactly when x/link's target directory y is opened (root, y
	// and x fill three slots; after the first emptying at d253 it holds
	// only the root and the d's), with x/link's parent x in use:
	// n = 2*dirCacheSize - 5. The replacement needs no full cache.
	for _, n := range []int{3, 2*dirCacheSize - 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			root := t.TempDir()
			entries := []tarEntry{
				{name: "y/", typ: '5'},
				{name: "y/f", body: "target"},
				{name: "x/", typ: '5'},
				{name: "x/replaced", body: "old"},
			}
			for i := range n {
				entries = append(entries, tarEntry{name: fmt.Sprintf("d%03d/f", i), body: "d"})
			}
			entries = append(entries,
				tarEntry{name: "x/link", typ: '1', link: "y/f"},
				tarEntry{name: "x/replaced", typ: '1', link: "y/f"},
			)
			mustApply(t, root, entries, ApplyOptions{})
			for _, p := range []string{"x/link", "x/replaced"} {
				if got := readFile(t, filepath.Join(root, p)); got != "target" {
					t.Fatalf("%s holds %q, want the target's content", p, got)
				}
			}
			if _, err := os.Lstat(filepath.Join(root, "y/link")); !os.IsNotExist(err) {
				t.Fatalf("the link went into the target's directory: %v", err)
			}
		})
	}
}
