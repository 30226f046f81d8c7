package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/snapshot"
	"golang.org/x/sys/unix"
)

// TestOverlayChanges builds two image layers and an upper directory by
// hand, as overlayfs leaves them, and checks the whole list of changes
// in Docker's order: added, modified and deleted files, a directory
// copied up with nothing changed (not listed), a whiteout in a layer
// (the path is new), an opaque directory in a layer and in the upper
// one (what the image had there is Deleted), a file replacing a
// directory, and a symlink to a directory that is not followed.
func TestOverlayChanges(t *testing.T) {
	testutil.RequireRoot(t) // whiteouts and trusted.* xattrs
	dir := t.TempDir()
	top, bottom, upper := filepath.Join(dir, "top"), filepath.Join(dir, "bottom"), filepath.Join(dir, "upper")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []string{"etc/hostname", "etc/passwd", "etc/group", "bin/sh", "opt/old/a", "gone", "data/x"} {
		mkfile(t, filepath.Join(bottom, f))
	}
	mkfile(t, filepath.Join(top, "etc/hostname"))
	mkfile(t, filepath.Join(top, "opt/new"))
	whiteout(t, filepath.Join(top, "gone"))
	opaque(t, filepath.Join(top, "opt"))
	for _, f := range []string{"etc/hostname", "gone", "new.txt", "newdir/f", "opt/x", "data", "etc.d"} {
		mkfile(t, filepath.Join(upper, f))
	}
	whiteout(t, filepath.Join(upper, "etc/passwd"))
	opaque(t, filepath.Join(upper, "opt"))
	if err := os.Symlink("/etc", filepath.Join(upper, "link")); err != nil {
		t.Fatal(err)
	}
	// /bin copied up with its mode, owner and mtime, nothing under it
	// changed: not listed.
	if err := os.Mkdir(filepath.Join(upper, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(bottom, "bin"), filepath.Join(upper, "bin")} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}

	l, err := overlayLayersOf([]snapshot.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"workdir=" + filepath.Join(dir, "work"), "upperdir=" + upper, "lowerdir=" + top + ":" + bottom}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.changes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C /data", "C /etc", "C /etc/hostname", "D /etc/passwd", "A /etc.d", "A /gone", "A /link",
		"A /new.txt", "A /newdir", "A /newdir/f", "C /opt", "D /opt/new", "A /opt/x"}
	if lines := changeLines(got); !reflect.DeepEqual(lines, want) {
		t.Errorf("changes:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// Without parents the snapshot is a bind of its directory: all of
	// it is new.
	l, err = overlayLayersOf([]snapshot.Mount{{Type: "bind", Source: filepath.Join(upper, "newdir"), Options: []string{"rw", "rbind"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.changes(); err != nil || !reflect.DeepEqual(changeLines(got), []string{"A /f"}) {
		t.Errorf("changes of a snapshot without parents: %v, %v; want A /f", changeLines(got), err)
	}
}

// TestOverlayLayersOf reads the layers from a snapshot's mounts and
// refuses mounts it cannot read them from.
func TestOverlayLayersOf(t *testing.T) {
	l, err := overlayLayersOf([]snapshot.Mount{{Type: "overlay", Options: []string{"workdir=/w", "upperdir=/u", "lowerdir=/a:/b", "userxattr"}}})
	if err != nil || l.upper != "/u" || !reflect.DeepEqual(l.lowers, []string{"/a", "/b"}) || l.opaque != "user.overlay.opaque" {
		t.Errorf("overlayLayersOf: %+v, %v", l, err)
	}
	for _, m := range [][]snapshot.Mount{nil, {{Type: "overlay", Options: []string{"lowerdir=/a"}}}, {{Type: "tmpfs"}}, {{Type: "bind", Source: "/a"}, {Type: "bind", Source: "/b"}}} {
		if l, err := overlayLayersOf(m); err == nil {
			t.Errorf("overlayLayersOf(%v) = %+v; want an error", m, l)
		}
	}
}

func changeLines(cs []Change) []string {
	var lines []string
	for _, c := range cs {
		lines = append(lines, c.Kind.String()+" "+c.Path)
	}
	return lines
}

func mkfile(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
}

func whiteout(t *testing.T, p string) {
	t.Helper()
	if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
}

func opaque(t *testing.T, p string) {
	t.Helper()
	if err := unix.Setxattr(p, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
}
