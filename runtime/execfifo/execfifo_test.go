package execfifo

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
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
	var before, after syscall.Stat_t
	if err := syscall.Lstat(path, &before); err != nil {
		t.Fatal(err)
	}
	if err := Retire(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the fifo is still at %s: %v", Name, err)
	}
	if err := syscall.Lstat(filepath.Join(dir, Retired), &after); err != nil || after.Ino != before.Ino {
		t.Fatalf("retired fifo: inode %d, %v; want %d", after.Ino, err, before.Ino)
	}
}
