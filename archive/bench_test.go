package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/archive/compression"
)

// syntheticLayer builds a layer of dirs files of mixed sizes (mostly
// small, like a distribution's /usr).
func syntheticLayer(b testing.TB, dirs, filesPerDir int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := bytes.Repeat([]byte("berth"), 40000)
	mt := time.Unix(1700000000, 0)
	for d := 0; d < dirs; d++ {
		dir := fmt.Sprintf("usr/lib/d%03d/", d)
		_ = tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
		for f := 0; f < filesPerDir; f++ {
			size := 200 + (f*7919)%16000
			if f%50 == 0 {
				size = 150000
			}
			_ = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%sf%04d.so", dir, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size), ModTime: mt})
			_, _ = tw.Write(data[:size])
		}
		_ = tw.WriteHeader(&tar.Header{Name: dir + "link", Typeflag: tar.TypeSymlink, Linkname: "f0000.so", ModTime: mt})
	}
	_ = tw.Close()
	return buf.Bytes()
}

// BenchmarkApply unpacks a synthetic layer. With BERTH_BENCH_TAR set to a
// (possibly compressed) layer file, that is unpacked instead.
func BenchmarkApply(b *testing.B) {
	var layer []byte
	if p := os.Getenv("BERTH_BENCH_TAR"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		rc, _, err := compression.Decompress(f)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(rc)
		_ = rc.Close()
		_ = f.Close()
		layer = buf.Bytes()
	} else {
		layer = syntheticLayer(b, 50, 100)
	}
	b.SetBytes(int64(len(layer)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(b.TempDir(), "root")
		_ = os.Mkdir(root, 0o755)
		b.StartTimer()
		if _, err := Apply(context.Background(), root, bytes.NewReader(layer), ApplyOptions{Whiteouts: WhiteoutOverlay}); err != nil {
			b.Fatal(err)
		}
	}
}
