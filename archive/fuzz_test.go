package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzApply feeds arbitrary bytes to Apply as a layer tar, once keeping
// owners and creating device nodes (as root), once with neither.
// Invariants: no panic; nothing outside the root is created or changed
// (owners and device numbers included); and after a successful Apply,
// every node whose path and type match the layer's last entry for it has
// that entry's device number and (when owners are kept) owner, and no
// device node exists that the layer did not ask for.
func FuzzApply(f *testing.F) {
	fx := newEscapeFixture(f)
	seeds := [][]tarEntry{
		{{name: "a/b/c", body: "x"}, {name: "a/l", typ: tar.TypeSymlink, link: "../../.."}, {name: "a/l/x", body: "y"}},
		{{name: "../x", body: "x"}},
		{{name: "s", typ: tar.TypeSymlink, link: fx.outside}, {name: "s/.wh.sentinel"}, {name: "s/.wh..wh..opq"}},
		{{name: "h", typ: tar.TypeLink, link: "s"}, {name: "s", typ: tar.TypeSymlink, link: fx.sentinel}, {name: "h2", typ: tar.TypeLink, link: "s"}, {name: "h2", body: "z"}},
		{{name: "d/", typ: tar.TypeDir}, {name: "d", body: "file over dir"}, {name: "d/x", body: "x"}},
		{{name: "/abs/f", body: "x"}, {name: "./", typ: tar.TypeDir, mode: 0o700}},
		// Device nodes, fifos and owners.
		{{name: "./", typ: tar.TypeDir, uid: 7, gid: 8}, {name: "dev/", typ: tar.TypeDir, uid: 1, gid: 2},
			{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3, uid: 3, gid: 4},
			{name: "dev/loop9", typ: tar.TypeBlock, mode: 0o660, major: 7, minor: 9, gid: 6},
			{name: "dev/big", typ: tar.TypeChar, major: 4095, minor: 1048575},
			{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600, uid: 1000, gid: 1000},
			{name: "home/u/f", body: "x", uid: 1000, gid: 1001, mode: 0o2755},
			{name: "home/u/l", typ: tar.TypeSymlink, link: "/nowhere", uid: 1002, gid: 1003}},
		// A device replaced by another, a hard link to one, a fifo over a file.
		{{name: "n", typ: tar.TypeChar, major: 1, minor: 5}, {name: "n", typ: tar.TypeBlock, major: 8, minor: 1, uid: 9},
			{name: "hn", typ: tar.TypeLink, link: "n"}, {name: "p", body: "x"}, {name: "p", typ: tar.TypeFifo}},
		// Nodes and owners through a symlink that leads outside.
		{{name: "s", typ: tar.TypeSymlink, link: fx.outside}, {name: "s/dev", typ: tar.TypeChar, major: 1, minor: 3},
			{name: "s/fifo", typ: tar.TypeFifo}, {name: "t", typ: tar.TypeSymlink, link: fx.sentinel, uid: 1234, gid: 1234}},
	}
	for _, s := range seeds {
		f.Add(buildTar(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []ApplyOptions{
			{Devices: DevicesAllow},
			{Devices: DevicesSkip, NoSameOwner: true},
		} {
			for _, mode := range []WhiteoutMode{WhiteoutDelete, WhiteoutOverlay} {
				fx := newEscapeFixture(t)
				opts.Whiteouts = mode
				_, err := Apply(context.Background(), fx.root, bytes.NewReader(data), opts) // errors are fine; escapes are not
				fx.check(t)
				if err == nil {
					checkApplied(t, fx.root, data, opts)
				}
			}
		}
	})
}

// checkApplied checks the nodes under root against the layer data that
// Apply unpacked there without error.
func checkApplied(t *testing.T, root string, data []byte, opts ApplyOptions) {
	t.Helper()
	last := lastEntries(data)
	owners := !opts.NoSameOwner && os.Geteuid() == 0
	devices := opts.Devices == DevicesAllow && os.Geteuid() == 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		h, known := last[rel]
		typ := st.Mode & unix.S_IFMT
		whiteout := typ == unix.S_IFCHR && st.Rdev == 0 && opts.Whiteouts == WhiteoutOverlay
		if (typ == unix.S_IFCHR || typ == unix.S_IFBLK) && !whiteout {
			if !devices || !known {
				t.Errorf("%s: device node %d:%d the layer did not ask for (devices allowed: %v)", rel, unix.Major(st.Rdev), unix.Minor(st.Rdev), devices)
				return nil
			}
		}
		if !known || h == nil || typeOf(h.Typeflag) != typ {
			return nil // implicit, whiteout, hard link or replaced: not checked
		}
		if (typ == unix.S_IFCHR || typ == unix.S_IFBLK) && (int64(unix.Major(st.Rdev)) != h.Devmajor || int64(unix.Minor(st.Rdev)) != h.Devminor) {
			t.Errorf("%s: device %d:%d, layer says %d:%d", rel, unix.Major(st.Rdev), unix.Minor(st.Rdev), h.Devmajor, h.Devminor)
		}
		if owners && (int64(st.Uid) != int64(h.Uid) || int64(st.Gid) != int64(h.Gid)) {
			t.Errorf("%s: owner %d:%d, layer says %d:%d", rel, st.Uid, st.Gid, h.Uid, h.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lastEntries maps each path of a layer to its last header; a nil header
// marks a path whose node the checks cannot predict (a hard link, or the
// target of a whiteout).
func lastEntries(data []byte) map[string]*tar.Header {
	last := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return last
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			name = "."
		}
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
		case strings.HasPrefix(base, ".wh."):
			last[path.Join(dir, strings.TrimPrefix(base, ".wh."))] = nil
		case h.Typeflag == tar.TypeLink:
			last[name] = nil
		default:
			last[name] = h
		}
	}
}

// typeOf is the file type a tar entry type makes.
func typeOf(flag byte) uint32 {
	switch flag {
	case tar.TypeReg, '\x00': // '\x00' is the old TypeRegA
		return unix.S_IFREG
	case tar.TypeDir:
		return unix.S_IFDIR
	case tar.TypeSymlink:
		return unix.S_IFLNK
	case tar.TypeChar:
		return unix.S_IFCHR
	case tar.TypeBlock:
		return unix.S_IFBLK
	case tar.TypeFifo:
		return unix.S_IFIFO
	}
	return 0
}
