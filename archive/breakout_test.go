package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
)

// listTree lists every path under dir except those under skip.
func listTree(t testing.TB, dir, skip string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if p == skip {
			return filepath.SkipDir
		}
		line := p + " " + fi.Mode().String()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			// Owner and device number: a chown or mknod that escapes
			// changes them.
			line += fmt.Sprintf(" %d:%d %d", st.Uid, st.Gid, st.Rdev)
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return out
}

// escapeFixture is a temp dir holding the unpack root and, beside it, an
// "outside" directory with a sentinel file that no entry may touch.
type escapeFixture struct {
	base, root, outside, sentinel string
	before                        []string
}

func newEscapeFixture(t testing.TB) *escapeFixture {
	base := t.TempDir()
	f := &escapeFixture{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	f.sentinel = filepath.Join(f.outside, "sentinel")
	_ = os.Mkdir(f.root, 0o755)
	_ = os.Mkdir(f.outside, 0o755)
	_ = os.WriteFile(f.sentinel, []byte("untouched"), 0o644)
	f.before = listTree(t, base, f.root)
	return f
}

func (f *escapeFixture) check(t testing.TB) {
	t.Helper()
	after := listTree(t, f.base, f.root)
	if len(after) != len(f.before) {
		t.Fatalf("something was created outside the root:\nbefore %v\nafter  %v", f.before, after)
	}
	for i := range after {
		if after[i] != f.before[i] {
			t.Fatalf("outside changed: %s vs %s", f.before[i], after[i])
		}
	}
	if b, err := os.ReadFile(f.sentinel); err != nil || string(b) != "untouched" {
		t.Fatalf("sentinel changed: %q %v", b, err)
	}
}

func TestApplyBreakouts(t *testing.T) {
	tests := []struct {
		name    string
		entries func(f *escapeFixture) []tarEntry
		mode    WhiteoutMode
		wantErr error // nil: may succeed or fail, but must stay inside
	}{
		{"dotdot", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "../outside/pwned", body: "x"}}
		}, WhiteoutDelete, ErrUnsafePath},
		{"dotdot-inner", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a/../../outside/pwned", body: "x"}}
		}, WhiteoutDelete, ErrUnsafePath},
		{"absolute", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: f.outside + "/pwned", body: "x"}}
		}, WhiteoutDelete, nil},
		{"symlink-abs-then-write", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: f.outside}, {name: "a/pwned", body: "x"}}
		}, WhiteoutDelete, nil},
		{"symlink-rel-then-write", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: "../outside"}, {name: "a/pwned", body: "x"}}
		}, WhiteoutDelete, nil},
		{"symlink-chain", func(f *escapeFixture) []tarEntry {
			return []tarEntry{
				{name: "d/", typ: tar.TypeDir},
				{name: "d/up", typ: tar.TypeSymlink, link: "../../.."},
				{name: "d/up/outside/pwned", body: "x"},
			}
		}, WhiteoutDelete, nil},
		{"symlink-file-then-overwrite", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "s", typ: tar.TypeSymlink, link: f.sentinel}, {name: "s", body: "overwritten"}}
		}, WhiteoutDelete, nil},
		{"hardlink-dotdot", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "h", typ: tar.TypeLink, link: "../outside/sentinel"}}
		}, WhiteoutDelete, ErrUnsafePath},
		{"hardlink-absolute", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "h", typ: tar.TypeLink, link: f.sentinel}, {name: "h", body: "overwritten"}}
		}, WhiteoutDelete, nil},
		{"hardlink-through-symlink-dir", func(f *escapeFixture) []tarEntry {
			return []tarEntry{
				{name: "a", typ: tar.TypeSymlink, link: f.outside},
				{name: "h", typ: tar.TypeLink, link: "a/sentinel"},
				{name: "h", body: "overwritten"},
			}
		}, WhiteoutDelete, nil},
		{"hardlink-to-escaping-symlink", func(f *escapeFixture) []tarEntry {
			return []tarEntry{
				{name: "s", typ: tar.TypeSymlink, link: f.sentinel},
				{name: "h", typ: tar.TypeLink, link: "s"},
				{name: "h", body: "overwritten"},
			}
		}, WhiteoutDelete, nil},
		{"whiteout-through-symlink", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: "../outside"}, {name: "a/.wh.sentinel"}}
		}, WhiteoutDelete, nil},
		{"opaque-through-symlink", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: f.outside}, {name: "a/.wh..wh..opq"}}
		}, WhiteoutDelete, nil},
		{"whiteout-dotdot", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: ".wh..."}}
		}, WhiteoutDelete, ErrUnsafePath},
		{"overlay-whiteout-through-symlink", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: f.outside}, {name: "a/.wh.sentinel"}}
		}, WhiteoutOverlay, nil},
		{"dir-over-symlink", func(f *escapeFixture) []tarEntry {
			return []tarEntry{{name: "a", typ: tar.TypeSymlink, link: f.outside}, {name: "a", typ: tar.TypeDir, mode: 0o777}, {name: "a/pwned", body: "x"}}
		}, WhiteoutDelete, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mode == WhiteoutOverlay && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			f := newEscapeFixture(t)
			data := buildTar(t, tc.entries(f))
			_, err := Apply(context.Background(), f.root, bytes.NewReader(data), ApplyOptions{Whiteouts: tc.mode})
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			f.check(t)
		})
	}
}
