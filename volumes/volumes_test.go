package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/errdefs"
)

var ctx = context.Background()

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

// TestCreate checks named and anonymous creation, the data directory's
// place and mode, and that creating an existing name returns it.
func TestCreate(t *testing.T) {
	s, root := newStore(t)
	v, err := s.Create(ctx, "data", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "data" || v.Anonymous || v.Mountpoint != filepath.Join(root, "volumes/data/_data") || v.Labels["k"] != "v" {
		t.Fatalf("created %+v", v)
	}
	fi, err := os.Stat(v.Mountpoint)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Fatalf("data dir: %v %v", fi, err)
	}
	again, err := s.Create(ctx, "data", map[string]string{"other": "x"})
	if err != nil || !again.CreatedAt.Equal(v.CreatedAt) || again.Labels["k"] != "v" {
		t.Fatalf("second create returned %+v, %v", again, err)
	}
	anon, err := s.Create(ctx, "", nil)
	if err != nil || !anon.Anonymous || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(anon.Name) {
		t.Fatalf("anonymous: %+v, %v", anon, err)
	}
	got, err := s.Get(ctx, anon.Name)
	if err != nil || got.Name != anon.Name || !got.Anonymous {
		t.Fatalf("get anonymous: %+v, %v", got, err)
	}
}

// TestInvalidNames checks that names outside Docker's rule are refused
// as invalid arguments and unknown names are not found.
func TestInvalidNames(t *testing.T) {
	s, _ := newStore(t)
	for _, n := range []string{"a", ".hidden", "-x", "a/b", "../up", "with space", "é1"} {
		if _, err := s.Create(ctx, n, nil); !errors.Is(err, ErrInvalidName) || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("create %q: %v", n, err)
		}
		if _, err := s.Get(ctx, n); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("get %q: %v", n, err)
		}
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
}

// TestRemoveInUse checks that a used volume cannot be removed (even with
// force), that users persist across reopening the store, and that a
// released volume is removed with its data.
func TestRemoveInUse(t *testing.T) {
	s, root := newStore(t)
	v, _ := s.Create(ctx, "db", nil)
	os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644)
	for _, id := range []string{"c2", "c1", "c2"} {
		if err := s.Use(ctx, "db", id); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s2.Get(ctx, "db")
	if !reflect.DeepEqual(got.Users, []string{"c1", "c2"}) {
		t.Fatalf("users after reopening: %v", got.Users)
	}
	for _, force := range []bool{false, true} {
		if err := s2.Remove(ctx, "db", force); !errors.Is(err, ErrInUse) || !errors.Is(err, errdefs.ErrConflict) {
			t.Fatalf("remove in use (force %v): %v", force, err)
		}
	}
	s2.Release(ctx, "db", "c1")
	s2.Release(ctx, "db", "c2")
	if err := s2.Release(ctx, "db", "never"); err != nil {
		t.Fatalf("release of a non-user: %v", err)
	}
	if err := s2.Remove(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "volumes/db")); !os.IsNotExist(err) {
		t.Fatalf("volume directory left: %v", err)
	}
	if err := s2.Remove(ctx, "db", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove missing: %v", err)
	}
	if err := s2.Remove(ctx, "db", true); err != nil {
		t.Fatalf("forced remove of a missing volume: %v", err)
	}
	if err := s2.Use(ctx, "db", "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("use of a missing volume: %v", err)
	}
}

// TestList checks the filters `volume ls` passes.
func TestList(t *testing.T) {
	s, _ := newStore(t)
	s.Create(ctx, "web-data", map[string]string{"app": "web", "tier": "front"})
	s.Create(ctx, "db-data", map[string]string{"app": "db"})
	s.Create(ctx, "cache", nil)
	s.Use(ctx, "db-data", "c1")
	names := func(filters ...string) []string {
		vs, err := s.List(ctx, filters...)
		if err != nil {
			t.Fatalf("list %v: %v", filters, err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	for _, tt := range []struct {
		filters []string
		want    []string
	}{
		{nil, []string{"cache", "db-data", "web-data"}},
		{[]string{"name=data"}, []string{"db-data", "web-data"}},
		{[]string{"label=app"}, []string{"db-data", "web-data"}},
		{[]string{"label=app=web"}, []string{"web-data"}},
		{[]string{"label!=app=web"}, []string{"cache", "db-data"}},
		{[]string{"label!=app"}, []string{"cache"}},
		{[]string{"dangling=true"}, []string{"cache", "web-data"}},
		{[]string{"dangling=false"}, []string{"db-data"}},
		{[]string{"name=data", "dangling=true"}, []string{"web-data"}},
	} {
		if got := names(tt.filters...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("list %v = %v, want %v", tt.filters, got, tt.want)
		}
	}
	for _, bad := range []string{"driver=local", "dangling=maybe", "name"} {
		if _, err := s.List(ctx, bad); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("filter %q: %v", bad, err)
		}
	}
}

// TestPruneAndUsage checks that Prune removes unused anonymous volumes
// (named ones too with all), keeps used ones, and reports the bytes
// freed, each hardlinked file counted once as Usage does.
func TestPruneAndUsage(t *testing.T) {
	s, _ := newStore(t)
	anon, _ := s.Create(ctx, "", nil)
	used, _ := s.Create(ctx, "", nil)
	named, _ := s.Create(ctx, "named", nil)
	s.Use(ctx, used.Name, "c1")
	os.WriteFile(filepath.Join(anon.Mountpoint, "a"), make([]byte, 1000), 0o644)
	os.Link(filepath.Join(anon.Mountpoint, "a"), filepath.Join(anon.Mountpoint, "b"))
	os.WriteFile(filepath.Join(named.Mountpoint, "n"), make([]byte, 10), 0o644)
	if n, err := s.Usage(ctx, anon.Name); err != nil || n != 1000 {
		t.Fatalf("usage = %d, %v; want 1000", n, err)
	}
	removed, freed, err := s.Prune(ctx, false)
	if err != nil || !reflect.DeepEqual(removed, []string{anon.Name}) || freed != 1000 {
		t.Fatalf("prune = %v, %d, %v", removed, freed, err)
	}
	if removed, _, err := s.Prune(ctx, true, "label=keep"); err != nil || len(removed) != 0 {
		t.Fatalf("prune all label=keep = %v, %v; want nothing", removed, err)
	}
	if _, _, err := s.Prune(ctx, true, "driver=local"); !errors.Is(err, ErrInvalidFilter) {
		t.Fatalf("prune with a bad filter: %v", err)
	}
	removed, freed, err = s.Prune(ctx, true)
	if err != nil || !reflect.DeepEqual(removed, []string{"named"}) || freed != 10 {
		t.Fatalf("prune all = %v, %d, %v", removed, freed, err)
	}
	if _, err := s.Get(ctx, used.Name); err != nil {
		t.Fatalf("used volume pruned: %v", err)
	}
}

// TestNewCleansLeftovers checks that what an interrupted create or
// remove left is removed, and volumes are kept.
func TestNewCleansLeftovers(t *testing.T) {
	s, root := newStore(t)
	s.Create(ctx, "keep", nil)
	for _, d := range []string{".new-1/_data", ".del-2/_data/x"} {
		os.MkdirAll(filepath.Join(root, "volumes", d), 0o755)
	}
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "volumes"))
	if len(ents) != 1 || ents[0].Name() != "keep" {
		t.Fatalf("left: %v", ents)
	}
}

// TestCopyUp checks that a new volume gets the image's content at the
// mount point with its owner and mode, links kept as links, and that
// nothing is copied into a non-empty volume or from outside the rootfs.
func TestCopyUp(t *testing.T) {
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "var/lib/db/sub"), 0o750)
	os.WriteFile(filepath.Join(rootfs, "var/lib/db/sub/f"), []byte("seed"), 0o640)
	os.Symlink("/etc/passwd", filepath.Join(rootfs, "var/lib/db/pw"))
	if os.Geteuid() == 0 {
		os.Chown(filepath.Join(rootfs, "var/lib/db"), 1000, 1001)
	}
	s, _ := newStore(t)
	v, _ := s.Create(ctx, "db", nil)
	if err := CopyUp(ctx, v.Mountpoint, rootfs, "/var/lib/db"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "sub/f")); err != nil || string(b) != "seed" {
		t.Fatalf("copied file: %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(v.Mountpoint, "pw")); err != nil || l != "/etc/passwd" {
		t.Fatalf("copied link: %q, %v", l, err)
	}
	var st unix.Stat_t
	unix.Stat(v.Mountpoint, &st)
	if st.Mode&0o7777 != 0o750 || (os.Geteuid() == 0 && (st.Uid != 1000 || st.Gid != 1001)) {
		t.Fatalf("data dir mode %o owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
	}

	// A non-empty volume is left alone.
	os.WriteFile(filepath.Join(rootfs, "var/lib/db/new"), nil, 0o644)
	if err := CopyUp(ctx, v.Mountpoint, rootfs, "/var/lib/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "new")); !os.IsNotExist(err) {
		t.Fatalf("copied into a non-empty volume: %v", err)
	}
}

// TestCopyUpHostileSymlinks checks that a mount point reached through
// symlinks to host paths (absolute, or climbing with "..") resolves
// inside the rootfs and never copies the host's files.
func TestCopyUpHostileSymlinks(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600)
	rootfs := t.TempDir()
	os.Symlink(host, filepath.Join(rootfs, "abs"))
	os.Symlink("../../../../../../../.."+host, filepath.Join(rootfs, "rel"))
	os.Symlink("loop", filepath.Join(rootfs, "loop"))
	s, _ := newStore(t)
	for _, target := range []string{"/abs", "/rel", "/../../.." + host, "/loop", "/missing"} {
		v, _ := s.Create(ctx, "", nil)
		err := CopyUp(ctx, v.Mountpoint, rootfs, target)
		if target == "/loop" && errors.Is(err, unix.ELOOP) {
			err = nil
		}
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
			t.Fatalf("%s: copied %v from outside the rootfs", target, ents)
		}
	}
}

// TestRemoveKeepsMounts checks that a volume with a filesystem mounted
// inside it (even a bind mount of the same filesystem, which has the
// same device) is not removed and the mounted files stay; once
// unmounted it is removed.
func TestRemoveKeepsMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	s, _ := newStore(t)
	v, _ := s.Create(ctx, "mnt", nil)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "keep"), []byte("x"), 0o644)
	mnt := filepath.Join(v.Mountpoint, "m")
	os.Mkdir(mnt, 0o755)
	if err := unix.Mount(host, mnt, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := s.Remove(ctx, "mnt", false); !errors.Is(err, ErrInUse) {
		t.Fatalf("remove over a mount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(host, "keep")); err != nil {
		t.Fatalf("mounted file removed: %v", err)
	}
	if _, err := s.Get(ctx, "mnt"); err != nil {
		t.Fatalf("volume gone after a refused removal: %v", err)
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "mnt", false); err != nil {
		t.Fatalf("remove after unmounting: %v", err)
	}
}
