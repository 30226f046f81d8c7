package execfifo

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestRetireRenamesNotRemoves: a retired fifo is gone from its name, so
// the container counts as started, and lives on under Retired: the same
// inode, not a deleted one.
func TestRetireRenamesNotRemoves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	before := testutil.Inode(t, path)
	if err := Retire(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the fifo is still at %s: %v", Name, err)
	}
	if after := testutil.Inode(t, filepath.Join(dir, Retired)); after != before {
		t.Fatalf("retired fifo: inode %d, want %d", after, before)
	}
}
