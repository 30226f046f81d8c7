package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// tarNames lists a tar stream's entries as name → type or link target.
func tarNames(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		v := string(hdr.Typeflag)
		if hdr.Linkname != "" {
			v += ">" + hdr.Linkname
		}
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			v += ":" + string(b)
		}
		out[hdr.Name] = v
	}
}

// TestWriteTree checks the entries WriteTree writes for a directory, a
// file and a symlink (written as a link, not followed), with a prefix.
func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d/sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "d/f"), []byte("data"), 0o644)
	os.Link(filepath.Join(dir, "d/f"), filepath.Join(dir, "d/sub/hard"))
	os.Symlink("/etc", filepath.Join(dir, "d/etc"))
	root, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, tt := range []struct {
		name, prefix string
		want         map[string]string
	}{
		{"d", "x", map[string]string{"x/": "5", "x/etc": "2>/etc", "x/f": "0:data", "x/sub/": "5", "x/sub/hard": "1>x/f"}},
		{"d/f", "f", map[string]string{"f": "0:data"}},
		{"d/etc", "etc", map[string]string{"etc": "2>/etc"}},
		{".", ".", map[string]string{"./": "5", "./d/": "5", "./d/etc": "2>/etc", "./d/f": "0:data", "./d/sub/": "5", "./d/sub/hard": "1>./d/f"}},
	} {
		var buf bytes.Buffer
		if err := WriteTree(context.Background(), &buf, root, tt.name, tt.prefix); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := tarNames(t, &buf); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s as %s:\n got %v\nwant %v", tt.name, tt.prefix, got, tt.want)
		}
	}
}

// TestWriteTreePseudoFS checks that a directory on a pseudo filesystem
// (here /proc and /sys) is written without its content.
func TestWriteTreePseudoFS(t *testing.T) {
	root, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, name := range []string{"proc", "sys"} {
		if !isPseudoFS(mustOpenDir(t, "/"+name)) {
			t.Skipf("/%s is not a pseudo filesystem here", name)
		}
		var buf bytes.Buffer
		if err := WriteTree(context.Background(), &buf, root, name, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := tarNames(t, &buf), map[string]string{name + "/": "5"}; !reflect.DeepEqual(got, want) {
			t.Errorf("/%s: got %d entries, want %v alone", name, len(got), want)
		}
	}
}

func mustOpenDir(t *testing.T, p string) int {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}
