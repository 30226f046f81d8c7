package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/errdefs"
)

// cpRootfs builds a container root with hostile symlinks, and a host
// directory outside it that they name.
func cpRootfs(t *testing.T) (rootfs, host string) {
	t.Helper()
	host = t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600)
	rootfs = t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "etc/hosts"), []byte("ctr"), 0o644)
	os.MkdirAll(filepath.Join(rootfs, "dir/sub"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "dir/a"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(rootfs, "file"), []byte("old"), 0o644)
	os.Symlink("/etc", filepath.Join(rootfs, "etclink"))
	os.Symlink(host, filepath.Join(rootfs, "hostlink"))
	os.Symlink(strings.Repeat("../", 20), filepath.Join(rootfs, "up"))
	os.Symlink(strings.Repeat("../", 20)+host[1:], filepath.Join(rootfs, "uphost"))
	os.Symlink("loop", filepath.Join(rootfs, "loop"))
	return rootfs, host
}

// TestCopyOut checks the tar and stat CopyOut gives for files, links,
// directories and "/." under Docker's rules, and that every symlink
// resolves inside the container's root.
func TestCopyOut(t *testing.T) {
	rootfs, host := cpRootfs(t)
	for _, tt := range []struct {
		path     string
		want     map[string]string
		wantName string
	}{
		{"/etc/hosts", map[string]string{"hosts": "0:ctr"}, "hosts"},
		{"etc/hosts", map[string]string{"hosts": "0:ctr"}, "hosts"},
		{"/dir", map[string]string{"dir/": "5", "dir/a": "0:a", "dir/sub/": "5"}, "dir"},
		{"/dir/.", map[string]string{"./": "5", "./a": "0:a", "./sub/": "5"}, "."},
		{"/etclink", map[string]string{"etclink": "2>/etc"}, "etclink"},
		{"/etclink/", map[string]string{"etclink/": "5", "etclink/hosts": "0:ctr"}, "etclink"},
		{"/etclink/hosts", map[string]string{"hosts": "0:ctr"}, "hosts"},
		{"/up/etc/hosts", map[string]string{"hosts": "0:ctr"}, "hosts"},
		{"/../../../etc/hosts", map[string]string{"hosts": "0:ctr"}, "hosts"},
	} {
		rc, st, err := CopyOut(context.Background(), rootfs, tt.path)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		got := tarNames(t, rc)
		rc.Close()
		if !reflect.DeepEqual(got, tt.want) || st.Name != tt.wantName {
			t.Errorf("%s: got %v named %q, want %v named %q", tt.path, got, st.Name, tt.want, tt.wantName)
		}
	}
	_, st, _ := CopyOut(context.Background(), rootfs, "/etclink")
	if st.LinkTarget != "/etc" || st.Mode&os.ModeSymlink == 0 {
		t.Errorf("stat of a link: %+v", st)
	}
	for _, p := range []string{"/hostlink/secret", "/uphost/secret", "/../../.." + host + "/secret", "/missing"} {
		if _, _, err := CopyOut(context.Background(), rootfs, p); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: err %v, want not found", p, err)
		}
	}
	for _, p := range []string{"/loop/x", "/file/", "/file/x"} {
		if _, _, err := CopyOut(context.Background(), rootfs, p); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: err %v, want invalid argument", p, err)
		}
	}
}

// mkTar builds a tar of name → content ("/"-suffixed names are
// directories, "->" in content makes a symlink).
func mkTar(entries ...string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		name, body := entries[i], entries[i+1]
		hdr := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(body)), Uid: 777, Gid: 778}
		switch {
		case strings.HasSuffix(name, "/"):
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		case strings.HasPrefix(body, "->"):
			hdr.Typeflag, hdr.Linkname, hdr.Size, body = tar.TypeSymlink, body[2:], 0, ""
		}
		tw.WriteHeader(hdr)
		tw.Write([]byte(body))
	}
	tw.Close()
	return &buf
}

// TestCopyIn checks Docker's cp rules for file and directory sources
// onto existing directories, existing files and missing paths.
func TestCopyIn(t *testing.T) {
	file := func() *bytes.Buffer { return mkTar("f", "new") }
	dir := func() *bytes.Buffer { return mkTar("src/", "", "src/a", "A") }
	content := func() *bytes.Buffer { return mkTar("./", "", "./a", "A") }
	fileOpts := CopyInOptions{SrcName: "f"}
	dirOpts := CopyInOptions{SrcName: "src", SrcIsDir: true}
	contentOpts := CopyInOptions{SrcName: ".", SrcIsDir: true}
	for _, tt := range []struct {
		name, dst string
		tar       *bytes.Buffer
		opts      CopyInOptions
		wantFile  string // path in the rootfs that holds the copied data
	}{
		{"file into dir", "/dir", file(), fileOpts, "dir/f"},
		{"file into dir with slash", "/dir/", file(), fileOpts, "dir/f"},
		{"file to new name", "/dir/g", file(), fileOpts, "dir/g"},
		{"file onto file", "/file", file(), fileOpts, "file"},
		{"file through link into dir", "/etclink", file(), fileOpts, "etc/f"},
		{"file through climbing link", "/up/dir/h", file(), fileOpts, "dir/h"},
		{"dir into dir", "/dir", dir(), dirOpts, "dir/src/a"},
		{"dir to new path", "/new", dir(), dirOpts, "new/a"},
		{"content into dir", "/dir/sub", content(), contentOpts, "dir/sub/a"},
		{"content to new path", "/fresh/", content(), contentOpts, "fresh/a"},
	} {
		rootfs, host := cpRootfs(t)
		if err := CopyIn(context.Background(), rootfs, tt.dst, tt.tar, tt.opts); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		data, err := os.ReadFile(filepath.Join(rootfs, tt.wantFile))
		if err != nil || (string(data) != "new" && string(data) != "A") {
			t.Errorf("%s: %s holds %q, %v", tt.name, tt.wantFile, data, err)
		}
		var st unix.Stat_t
		unix.Lstat(filepath.Join(rootfs, tt.wantFile), &st)
		if os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
			t.Errorf("%s: owner %d:%d, want the container's root", tt.name, st.Uid, st.Gid)
		}
		if ents, _ := os.ReadDir(host); len(ents) != 1 {
			t.Errorf("%s: host directory changed: %v", tt.name, ents)
		}
	}
}

// TestCopyInRefused checks the copies cp refuses, each with a clear
// error of the right kind, and that nothing reaches the host.
func TestCopyInRefused(t *testing.T) {
	for _, tt := range []struct {
		name, dst string
		tar       *bytes.Buffer
		opts      CopyInOptions
		kind      error
		msg       string
	}{
		{"dir onto file", "/file", mkTar("src/", ""), CopyInOptions{SrcName: "src", SrcIsDir: true}, ErrCannotCopyDir, "directory onto a file"},
		{"missing parent", "/nope/x", mkTar("f", "x"), CopyInOptions{SrcName: "f"}, errdefs.ErrNotFound, "parent /nope does not exist"},
		{"file to missing dir", "/nodir/", mkTar("f", "x"), CopyInOptions{SrcName: "f"}, errdefs.ErrNotFound, "does not exist"},
		{"host link parent", "/hostlink/x", mkTar("f", "x"), CopyInOptions{SrcName: "f"}, errdefs.ErrNotFound, "does not exist"},
		{"climbing entry", "/dir", mkTar("f/../../../x", "x"), CopyInOptions{SrcName: "f"}, ErrUnsafePath, "escapes"},
		{"entry outside source", "/dir", mkTar("other", "x"), CopyInOptions{SrcName: "f"}, ErrUnsafePath, "not under the source"},
		{"whiteout name", "/dir", mkTar("f/", "", "f/.wh.a", ""), CopyInOptions{SrcName: "f", SrcIsDir: true}, ErrUnsupportedEntry, ".wh."},
		{"source name climbs", "/dir", mkTar("f", "x"), CopyInOptions{SrcName: "../f"}, errdefs.ErrInvalidArgument, "not a base name"},
		{"loop", "/loop/x", mkTar("f", "x"), CopyInOptions{SrcName: "f"}, errdefs.ErrInvalidArgument, ""},
		{"file onto dir, no overwrite", "/", mkTar("dir", "x"), CopyInOptions{SrcName: ".", SrcIsDir: true, NoOverwriteDirNonDir: true}, ErrOverwrite, `directory "dir" with non-directory`},
		{"dir onto file, no overwrite", "/", mkTar("file/", ""), CopyInOptions{SrcName: ".", SrcIsDir: true, NoOverwriteDirNonDir: true}, ErrOverwrite, `non-directory "file" with directory`},
	} {
		rootfs, host := cpRootfs(t)
		err := CopyIn(context.Background(), rootfs, tt.dst, tt.tar, tt.opts)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want %v containing %q", tt.name, err, tt.kind, tt.msg)
		}
		if ents, _ := os.ReadDir(host); len(ents) != 1 {
			t.Errorf("%s: host directory changed: %v", tt.name, ents)
		}
	}
}

// TestCopyInHostileTar checks that a tar planting a symlink to a host
// directory and then writing through it stays in the container, and
// that owners are kept with CopyUIDGID.
func TestCopyInHostileTar(t *testing.T) {
	rootfs, host := cpRootfs(t)
	for _, tr := range []*bytes.Buffer{
		mkTar("src/", "", "src/esc", "->"+host, "src/esc/pwned", "x"),
		mkTar("src/", "", "src/rel", "->../../../../../../..", "src/rel/pwned2", "y"),
	} {
		err := CopyIn(context.Background(), rootfs, "/dir", tr, CopyInOptions{SrcName: "src", SrcIsDir: true, CopyUIDGID: true})
		if err != nil {
			t.Logf("copy refused: %v", err)
		}
	}
	if ents, _ := os.ReadDir(host); len(ents) != 1 {
		t.Fatalf("host directory changed: %v", ents)
	}
	if data, err := os.ReadFile(filepath.Join(rootfs, "dir/pwned2")); err != nil || string(data) != "y" {
		t.Fatalf("a climbing link did not resolve to the destination: %q, %v", data, err)
	}
	for _, p := range []string{filepath.Dir(rootfs), "/"} {
		if _, err := os.Stat(filepath.Join(p, "pwned2")); err == nil {
			t.Fatalf("wrote pwned2 into %s, outside the destination", p)
		}
	}
	if os.Geteuid() == 0 {
		var st unix.Stat_t
		unix.Lstat(filepath.Join(rootfs, "dir/src"), &st)
		if st.Uid != 777 || st.Gid != 778 {
			t.Fatalf("owner %d:%d, want the tar's 777:778", st.Uid, st.Gid)
		}
	}
}

// TestCopyOutStopsOnClose checks that closing the tar early ends the copy.
func TestCopyOutStopsOnClose(t *testing.T) {
	rootfs, _ := cpRootfs(t)
	os.WriteFile(filepath.Join(rootfs, "big"), make([]byte, 4<<20), 0o644)
	rc, _, err := CopyOut(context.Background(), rootfs, "/big")
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, rc, 1024)
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}
