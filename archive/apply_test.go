package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func mustApply(t *testing.T, root string, entries []tarEntry, opts ApplyOptions) {
	t.Helper()
	if os.Geteuid() != 0 {
		opts.NoSameOwner = true // entries are owned by root
	}
	data := buildTar(t, entries)
	n, err := Apply(context.Background(), root, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("apply read %d of %d bytes", n, len(data))
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyBasic(t *testing.T) {
	root := t.TempDir()
	dirTime := time.Unix(1600000000, 0)
	mustApply(t, root, []tarEntry{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/", typ: tar.TypeDir, mode: 0o750, mtime: dirTime},
		{name: "etc/hosts", body: "127.0.0.1 localhost\n", mode: 0o600},
		{name: "etc/suid", body: "x", mode: 0o4755},
		{name: "etc/link", typ: tar.TypeSymlink, link: "hosts"},
		{name: "etc/hard", typ: tar.TypeLink, link: "etc/hosts"},
		{name: "deep/er/file", body: "implicit parents"},
		{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		{name: "x", body: "xattr", xattrs: map[string]string{"user.berth": "yes", "trusted.overlay.redirect": "/evil"}},
		{name: "etc/hosts", body: "replaced"},
	}, ApplyOptions{})
	if got := readFile(t, filepath.Join(root, "etc/hosts")); got != "replaced" {
		t.Fatalf("hosts = %q", got)
	}
	if got := readFile(t, filepath.Join(root, "etc/hard")); got != "127.0.0.1 localhost\n" {
		t.Fatalf("hardlink = %q (should keep the first file's inode)", got)
	}
	if l, _ := os.Readlink(filepath.Join(root, "etc/link")); l != "hosts" {
		t.Fatalf("symlink = %q", l)
	}
	if got := readFile(t, filepath.Join(root, "deep/er/file")); got != "implicit parents" {
		t.Fatal(got)
	}
	fi, err := os.Stat(filepath.Join(root, "etc/suid"))
	if err != nil || fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
		t.Fatalf("suid mode %v %v", fi.Mode(), err)
	}
	fi, _ = os.Stat(filepath.Join(root, "etc"))
	if !fi.ModTime().Equal(dirTime) || fi.Mode().Perm() != 0o750 {
		t.Fatalf("dir mtime %v mode %v: times must be set after children", fi.ModTime(), fi.Mode())
	}
	fi, _ = os.Lstat(filepath.Join(root, "fifo"))
	if fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("fifo mode %v", fi.Mode())
	}
	buf := make([]byte, 16)
	n, err := unix.Getxattr(filepath.Join(root, "x"), "user.berth", buf)
	if err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatalf("xattr: %v", err)
	}
	if err == nil && string(buf[:n]) != "yes" {
		t.Fatalf("xattr = %q", buf[:n])
	}
	if _, err := unix.Getxattr(filepath.Join(root, "x"), "trusted.overlay.redirect", buf); err == nil {
		t.Fatal("overlay xattr taken from the layer")
	}
}

func TestApplyOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	root := t.TempDir()
	mustApply(t, root, []tarEntry{
		{name: "d/", typ: tar.TypeDir, uid: 1000, gid: 1001},
		{name: "d/f", body: "f", uid: 1002, gid: 1003, mode: 0o2755},
		{name: "d/l", typ: tar.TypeSymlink, link: "/nowhere", uid: 1004, gid: 1005},
		{name: "null", typ: tar.TypeChar, mode: 0o666, major: 1},
	}, ApplyOptions{})
	check := func(p string, uid, gid uint32) {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s owned %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
	}
	check("d", 1000, 1001)
	check("d/f", 1002, 1003)
	check("d/l", 1004, 1005)
	fi, _ := os.Stat(filepath.Join(root, "d/f"))
	if fi.Mode()&os.ModeSetgid == 0 {
		t.Error("setgid lost after chown")
	}
	fi, err := os.Lstat(filepath.Join(root, "null"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("device: %v %v", fi, err)
	}
}

func TestApplyDevicePolicy(t *testing.T) {
	root := t.TempDir()
	dev := []tarEntry{{name: "dev/sda", typ: tar.TypeBlock, major: 8}}
	_, err := Apply(context.Background(), root, bytes.NewReader(buildTar(t, dev)), ApplyOptions{Devices: DevicesReject})
	if !errors.Is(err, ErrDeviceNotAllowed) {
		t.Fatalf("want ErrDeviceNotAllowed, got %v", err)
	}
	mustApply(t, root, dev, ApplyOptions{Rootless: true})
	if _, err := os.Lstat(filepath.Join(root, "dev/sda")); err == nil {
		t.Fatal("device created in rootless mode")
	}
}

func TestApplyWhiteoutDelete(t *testing.T) {
	root := t.TempDir()
	mustApply(t, root, []tarEntry{
		{name: "keep", body: "k"},
		{name: "gone", body: "g"},
		{name: "dir/", typ: tar.TypeDir},
		{name: "dir/gone", body: "g"},
		{name: "opq/", typ: tar.TypeDir},
		{name: "opq/old", body: "old"},
		{name: "opq/sub/old", body: "old"},
	}, ApplyOptions{})
	mustApply(t, root, []tarEntry{
		{name: ".wh.gone", body: ""},
		{name: ".wh.dir", body: ""},
		{name: ".wh.never-existed", body: ""},
		{name: "opq/", typ: tar.TypeDir},
		{name: "opq/new", body: "new"},
		{name: "opq/.wh..wh..opq", body: ""},
	}, ApplyOptions{Whiteouts: WhiteoutDelete})
	for _, p := range []string{"gone", "dir", "opq/old", "opq/sub", ".wh.gone", "opq/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	for _, p := range []string{"keep", "opq/new"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s missing: %v", p, err)
		}
	}
}

func TestApplyWhiteoutOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, trusted xattrs)")
	}
	root := t.TempDir()
	mustApply(t, root, []tarEntry{
		{name: ".wh.gone", body: ""},
		{name: "opq/", typ: tar.TypeDir},
		{name: "opq/.wh..wh..opq", body: ""},
		{name: "opq/new", body: "new"},
	}, ApplyOptions{Whiteouts: WhiteoutOverlay})
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "gone"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("whiteout is mode %o rdev %d", st.Mode, st.Rdev)
	}
	buf := make([]byte, 4)
	n, err := unix.Lgetxattr(filepath.Join(root, "opq"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr %q %v", buf[:n], err)
	}
}

func TestApplyCountsTrailingBytes(t *testing.T) {
	data := buildTar(t, []tarEntry{{name: "f", body: "x"}})
	data = append(data, make([]byte, 4096)...)
	n, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(data), ApplyOptions{NoSameOwner: true})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("n=%d of %d, err %v", n, len(data), err)
	}
}

func TestApplyBadInput(t *testing.T) {
	if _, err := Apply(context.Background(), filepath.Join(t.TempDir(), "missing"), bytes.NewReader(nil), ApplyOptions{}); err == nil {
		t.Fatal("missing root accepted")
	}
	root := t.TempDir()
	if _, err := Apply(context.Background(), root, bytes.NewReader([]byte("not a tar at all, definitely not")), ApplyOptions{}); err == nil {
		t.Fatal("garbage accepted")
	}
	data := buildTar(t, []tarEntry{{name: "big", body: string(bytes.Repeat([]byte("0123456789"), 1000))}})
	if _, err := Apply(context.Background(), root, bytes.NewReader(data[:5000]), ApplyOptions{}); err == nil {
		t.Fatal("truncated tar accepted")
	}
}

func TestApplyWhiteoutThenDirIsOpaque(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, trusted xattrs)")
	}
	root := t.TempDir()
	mustApply(t, root, []tarEntry{
		{name: ".wh.d"},
		{name: "d/", typ: tar.TypeDir},
		{name: "d/new", body: "n"},
	}, ApplyOptions{Whiteouts: WhiteoutOverlay})
	buf := make([]byte, 4)
	n, err := unix.Lgetxattr(filepath.Join(root, "d"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Fatalf("directory replacing a whiteout is not opaque: %q %v", buf[:n], err)
	}
}
