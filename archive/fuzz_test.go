package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
)

// FuzzApply feeds arbitrary bytes to Apply as a layer tar. Invariants: no
// panic, and nothing outside the root is created or changed.
func FuzzApply(f *testing.F) {
	fx := newEscapeFixture(f)
	seeds := [][]tarEntry{
		{{name: "a/b/c", body: "x"}, {name: "a/l", typ: tar.TypeSymlink, link: "../../.."}, {name: "a/l/x", body: "y"}},
		{{name: "../x", body: "x"}},
		{{name: "s", typ: tar.TypeSymlink, link: fx.outside}, {name: "s/.wh.sentinel"}, {name: "s/.wh..wh..opq"}},
		{{name: "h", typ: tar.TypeLink, link: "s"}, {name: "s", typ: tar.TypeSymlink, link: fx.sentinel}, {name: "h2", typ: tar.TypeLink, link: "s"}, {name: "h2", body: "z"}},
		{{name: "d/", typ: tar.TypeDir}, {name: "d", body: "file over dir"}, {name: "d/x", body: "x"}},
		{{name: "/abs/f", body: "x"}, {name: "./", typ: tar.TypeDir, mode: 0o700}},
	}
	for _, s := range seeds {
		f.Add(buildTar(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fx := newEscapeFixture(t)
		for _, mode := range []WhiteoutMode{WhiteoutDelete, WhiteoutOverlay} {
			_, _ = Apply(context.Background(), fx.root, bytes.NewReader(data), ApplyOptions{Whiteouts: mode, Devices: DevicesSkip, NoSameOwner: true}) // errors are fine; escapes are not
			fx.check(t)
		}
	})
}
