// Package compression detects and undoes the compression of layers and
// image archives. It is apart from package archive so that what only
// packs and unpacks trees (the CLI's cp) does not link the decompressors.
package compression

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Kind is a stream's compression, detected from its magic bytes.
type Kind int

// The compressions Decompress recognises.
const (
	Uncompressed Kind = iota
	Gzip
	Zstd
)

// String names the compression as media types do.
func (c Kind) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	default:
		return "uncompressed"
	}
}

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect reports the compression of a stream from its first bytes.
func Detect(head []byte) Kind {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	default:
		return Uncompressed
	}
}

// Decompress detects gzip, zstd or no compression by magic bytes and
// returns a reader of the decompressed stream. Decompression runs ahead
// in its own goroutine so that it overlaps with whatever consumes the
// output (unpacking); Close stops it.
func Decompress(r io.Reader) (io.ReadCloser, Kind, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, Uncompressed, fmt.Errorf("detect compression: %w", err)
	}
	switch c := Detect(head); c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("open gzip stream: %w", err)
		}
		return newReadAhead(zr, zr.Close), c, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(2), zstd.WithDecoderLowmem(false))
		if err != nil {
			return nil, c, fmt.Errorf("open zstd stream: %w", err)
		}
		return readCloser{zr, func() error { zr.Close(); return nil }}, c, nil
	default:
		return readCloser{br, func() error { return nil }}, Uncompressed, nil
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
