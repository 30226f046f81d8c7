package distribution

import (
	"fmt"
	"io"
	"net/http"

	"github.com/berth-dev/berth/manifest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultMaxLayerSize is ClientOptions.MaxLayerSize when left at 0.
const DefaultMaxLayerSize = 64 << 30

// checkSize refuses, before any byte is fetched, a descriptor whose size
// is not positive or exceeds the cap of its kind (manifest.MaxSize for
// manifests, indexes and configs): without a trustworthy
// size nothing bounds what a registry may send.
func (c *Client) checkSize(desc ocispec.Descriptor) error {
	limit, kind := c.o.MaxLayerSize, "layer"
	if manifest.IsDocument(desc.MediaType) {
		limit, kind = manifest.MaxSize, "manifest, index or config"
	}
	if desc.Size <= 0 {
		return fmt.Errorf("fetch %s: %w: declared size %d is not positive", desc.Digest, manifest.ErrBadSize, desc.Size)
	}
	if desc.Size > limit {
		return fmt.Errorf("fetch %s: %w: declared size %d exceeds the %d-byte limit for a %s", desc.Digest, manifest.ErrBadSize, desc.Size, limit, kind)
	}
	return nil
}

// capBody returns resp's body limited to the want bytes left of desc: a
// Content-Length beyond that is refused before reading, and a body that
// streams past it fails at the first extra byte; both errors match
// ErrCorruptBlob and ErrBadSize.
func capBody(resp *http.Response, desc ocispec.Descriptor, want int64) (io.ReadCloser, error) {
	if resp.ContentLength > want {
		drain(resp)
		return nil, fmt.Errorf("fetch %s: %w (%w): server announces %d bytes, %d expected", desc.Digest, ErrCorruptBlob, manifest.ErrBadSize, resp.ContentLength, want)
	}
	return &capReader{ReadCloser: resp.Body, left: want, dgst: desc.Digest.String()}, nil
}

// capReader fails once its body goes past left bytes.
type capReader struct {
	io.ReadCloser
	left int64
	dgst string
}

// Read implements io.Reader.
func (r *capReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		var one [1]byte
		if n, err := io.ReadFull(r.ReadCloser, one[:]); n == 0 {
			return 0, err // io.EOF at the declared end, or a broken transfer
		}
		return 0, fmt.Errorf("fetch %s: %w (%w): server sent more than the declared size", r.dgst, ErrCorruptBlob, manifest.ErrBadSize)
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.ReadCloser.Read(p)
	r.left -= int64(n)
	return n, err
}
