package testutil

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Overlay makes the lower, upper and work directories of a new writable
// overlay and its mount point in a test directory, and returns the
// overlay's mount options and its target.
func Overlay(t testing.TB) (options []string, target string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"lowerdir=" + filepath.Join(dir, "l"), "upperdir=" + filepath.Join(dir, "u"), "workdir=" + filepath.Join(dir, "w")},
		filepath.Join(dir, "m")
}

// SuperOptions returns the filesystem's own options (after " - " in
// /proc/self/mountinfo) of the last mount whose mount point match
// accepts; it fails t when there is none.
func SuperOptions(t testing.TB, match func(mountpoint string) bool) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var opts []string
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && len(g) == 3 && match(f[4]) {
			opts, found = strings.Split(g[2], ","), true
		}
	}
	if !found {
		t.Fatal("no such mount")
	}
	return opts
}

// IsVolatile reports whether an overlay's super options say it is
// volatile (Linux 6.x shows the option as fsync=volatile).
func IsVolatile(opts []string) bool {
	return slices.Contains(opts, "volatile") || slices.Contains(opts, "fsync=volatile")
}
