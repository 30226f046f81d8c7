package containers_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/mount"
)

// TestRunRemoveRootIsVolatile: an --rm container's writable layer is
// mounted volatile where the kernel can (its contents go at the exit
// anyway, and the unmount then syncs nothing), a kept container's is not;
// both stop and go without a trace.
func TestRunRemoveRootIsVolatile(t *testing.T) {
	e := newEnv(t)
	want := volatileOverlays(t)
	e.ok("pull", e.ref)
	gone := strings.TrimSpace(e.ok("run", "-d", "--rm", e.ref, "sleep", "60"))
	kept := strings.TrimSpace(e.ok("run", "-d", e.ref, "sleep", "60"))
	if got := isVolatile(t, rootOptions(t, gone)); got != want {
		t.Errorf("--rm container's root volatile: %v, want %v", got, want)
	}
	if isVolatile(t, rootOptions(t, kept)) {
		t.Error("a kept container's root is volatile")
	}
	e.ok("stop", "-t", "0", gone, kept)
	e.ok("rm", kept)
	e.nothingLeft()
}

// volatileOverlays reports whether the kernel mounts volatile overlays,
// trying as the engine does.
func volatileOverlays(t *testing.T) bool {
	dir := t.TempDir()
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "m")
	err := mount.All(mount.Volatile([]mount.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + filepath.Join(dir, "l"), "upperdir=" + filepath.Join(dir, "u"), "workdir=" + filepath.Join(dir, "w")}}}), target)
	if errors.Is(err, unix.EINVAL) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := mount.UnmountAll(target); err != nil {
		t.Fatal(err)
	}
	return true
}

// rootOptions returns the super options of container id's root mount.
func rootOptions(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 10 && strings.HasSuffix(f[4], "/"+id+"/rootfs") {
			return f[len(f)-1]
		}
	}
	t.Fatalf("no root mount for %s", id)
	return ""
}

// isVolatile reports whether super options name the volatile option
// (Linux 6.x shows it as fsync=volatile).
func isVolatile(t *testing.T, opts string) bool {
	t.Helper()
	for _, o := range strings.Split(opts, ",") {
		if o == "volatile" || o == "fsync=volatile" {
			return true
		}
	}
	return false
}
