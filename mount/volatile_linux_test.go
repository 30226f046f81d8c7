package mount_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/mount"
)

// TestVolatileOnlyWritableOverlays: only an overlay with an upper
// directory gains the option; the caller's options are left as they were.
func TestVolatileOnlyWritableOverlays(t *testing.T) {
	in := []mount.Mount{
		{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/l", "upperdir=/u", "workdir=/w"}},
		{Type: "overlay", Source: "overlay", Options: []string{"lowerdir=/a:/b"}},
		{Type: "bind", Source: "/x", Options: []string{"rbind", "ro"}},
	}
	out := mount.Volatile(in)
	if !slices.Contains(out[0].Options, "volatile") {
		t.Errorf("writable overlay: %v", out[0].Options)
	}
	for i := 1; i < len(in); i++ {
		if slices.Contains(out[i].Options, "volatile") {
			t.Errorf("mount %d: %v", i, out[i].Options)
		}
	}
	if slices.Contains(in[0].Options, "volatile") {
		t.Error("the caller's options changed")
	}
}

// TestVolatileMountsAgain: a layer once mounted volatile mounts again
// through Volatile, though overlayfs refuses it while its marker exists;
// the mount carries the option, and its unmount leaves nothing.
func TestVolatileMountsAgain(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	opts, target := testutil.Overlay(t)
	ms := []mount.Mount{{Type: "overlay", Source: "overlay", Options: opts}}
	for i := 0; i < 2; i++ {
		err := mount.All(mount.Volatile(ms), target)
		if i == 0 && errors.Is(err, unix.EINVAL) {
			t.Skipf("the kernel mounts no volatile overlays (Linux 5.10 does): %v", err)
		}
		if err != nil {
			t.Fatalf("mount %d: %v", i, err)
		}
		super := testutil.SuperOptions(t, func(mp string) bool { return mp == target })
		if err := mount.UnmountAll(target); err != nil {
			t.Fatal(err)
		}
		if !testutil.IsVolatile(super) {
			t.Fatalf("mount %d is not volatile: %s", i, super)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(target), "w", "work", "incompat", "volatile")); err != nil {
		t.Fatalf("overlayfs left no marker (the test proves nothing): %v", err)
	}
	if err := mount.All(ms, target); err == nil {
		mount.UnmountAll(target)
		t.Fatal("overlayfs mounted a volatile layer again with its marker there")
	}
}
