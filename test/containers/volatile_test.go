package containers_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
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
	if got := testutil.IsVolatile(rootOptions(t, gone)); got != want {
		t.Errorf("--rm container's root volatile: %v, want %v", got, want)
	}
	if testutil.IsVolatile(rootOptions(t, kept)) {
		t.Error("a kept container's root is volatile")
	}
	e.ok("stop", "-t", "0", gone, kept)
	e.ok("rm", kept)
	e.nothingLeft()
}

// volatileOverlays reports whether the kernel mounts volatile overlays,
// trying as the engine does.
func volatileOverlays(t *testing.T) bool {
	opts, target := testutil.Overlay(t)
	err := mount.All(mount.Volatile([]mount.Mount{{Type: "overlay", Source: "overlay", Options: opts}}), target)
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
func rootOptions(t *testing.T, id string) []string {
	t.Helper()
	return testutil.SuperOptions(t, func(mp string) bool { return strings.HasSuffix(mp, "/"+id+"/rootfs") })
}
