package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestRelabelAllowed(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": false, "/usr": false, "/usr/share/x": false, "/etc/x": false, "/home": false, "/tmp": false, "/var/lib": false,
		"/home/me/data": true, "/tmp/vol": true, "/var/lib/kubelet/pods/x": true, "/srv/www": true,
	} {
		if err := relabelAllowed(p); (err == nil) != ok {
			t.Errorf("relabelAllowed(%s) = %v, want allowed %v", p, err, ok)
		}
	}
}

// TestRelabel: every file and directory below the source gets the label;
// a symbolic link's target outside does not; a bind without Relabel, or a
// container without a mount label, is left alone.
func TestRelabel(t *testing.T) {
	testutil.RequireRoot(t) // security.* attributes
	dir := t.TempDir()
	src, outside := filepath.Join(dir, "src"), filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(src, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	label := func(p string) string {
		b := make([]byte, 128)
		n, err := unix.Lgetxattr(p, "security.selinux", b)
		if errors.Is(err, unix.ENOTSUP) {
			t.Skipf("%s takes no security attributes", p)
		}
		if err != nil {
			return ""
		}
		return string(b[:n])
	}
	const l = "system_u:object_r:container_file_t:s0:c1,c2"
	other := t.TempDir()
	cfg := container.Config{MountLabel: l, Mounts: []container.Mount{{Type: "bind", Source: src, Relabel: true}, {Type: "bind", Source: other}}}
	if err := relabelBinds(cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, filepath.Join(src, "sub"), filepath.Join(src, "sub", "f")} {
		if got := label(p); got != l {
			t.Errorf("%s: label %q, want %q", p, got, l)
		}
	}
	if got := label(outside); got != "" {
		t.Errorf("a symbolic link's target was relabeled: %q", got)
	}
	if got := label(other); got != "" {
		t.Errorf("a bind without Relabel was relabeled: %q", got)
	}
	cfg.MountLabel, cfg.Mounts = "", []container.Mount{{Type: "bind", Source: other, Relabel: true}}
	if err := relabelBinds(cfg); err != nil || label(other) != "" {
		t.Errorf("relabeled without a mount label: %v, %q", err, label(other))
	}
}
