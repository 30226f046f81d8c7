package compression

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestDecompress(t *testing.T) {
	plain := bytes.Repeat([]byte("berth layer data "), 200000)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	_, _ = gw.Write(plain)
	_ = gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	for _, tc := range []struct {
		in   []byte
		want Kind
	}{{plain, Uncompressed}, {gz.Bytes(), Gzip}, {zs.Bytes(), Zstd}, {nil, Uncompressed}} {
		rc, c, err := Decompress(bytes.NewReader(tc.in))
		if err != nil {
			t.Fatalf("%v: %v", tc.want, err)
		}
		if c != tc.want {
			t.Fatalf("detected %v, want %v", c, tc.want)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("%v: read: %v", c, err)
		}
		if len(tc.in) > 0 && !bytes.Equal(got, plain) {
			t.Fatalf("%v: output differs (%d bytes)", c, len(got))
		}
	}
}

func TestDecompressCorruptAndEarlyClose(t *testing.T) {
	plain := bytes.Repeat([]byte("x"), 3<<20)
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	_, _ = gw.Write(plain)
	_ = gw.Close()
	// Close before reading everything must not hang or leak the goroutine.
	rc, _, err := Decompress(bytes.NewReader(gz.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = rc.Read(make([]byte, 10))
	_ = rc.Close()
	// A truncated stream is an error, not a silent short read.
	rc, _, err = Decompress(bytes.NewReader(gz.Bytes()[:gz.Len()/2]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Fatal("truncated gzip read without error")
	}
	_ = rc.Close()
}
