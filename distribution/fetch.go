package distribution

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fetch opens desc (a manifest, index or blob of ref's repository) from the
// first host that has it, starting at offset. It returns the reader and
// the offset the reader actually starts at (0 when the server ignored the
// Range request). A blob with URLs in its descriptor is fetched from those
// first. A descriptor whose size is not positive or over its limit is
// refused with ErrBadSize before any request; the reader fails with
// ErrBadSize once the body goes past the declared size.
func (c *Client) Fetch(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, offset int64) (io.ReadCloser, int64, error) {
	if err := c.checkSize(desc); err != nil {
		return nil, 0, err
	}
	hosts, err := c.Hosts(ref.Domain, CapPull)
	if err != nil {
		return nil, 0, err
	}
	kind := "blobs"
	if manifest.IsIndex(desc.MediaType) || manifest.IsManifest(desc.MediaType) {
		kind = "manifests"
	}
	op := "fetch " + desc.Digest.String()
	var firstErr error
	if kind == "blobs" && len(desc.URLs) > 0 {
		// A blob with URLs (a non-distributable layer) comes from them
		// first, as with containerd; the registry may hold it too.
		rc, start, err := c.fetchURLs(ctx, desc, offset)
		if err == nil || ctx.Err() != nil {
			return rc, start, err
		}
		c.o.Logger.Debug("blob URLs failed, trying the registry", "digest", desc.Digest, "err", err)
		firstErr = err
	}
	for _, h := range hosts {
		resp, err := c.do(ctx, request{host: h, domain: ref.Domain, scope: pullScope(ref), op: op,
			build: func(ctx context.Context, base string) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/"+ref.Path+"/"+kind+"/"+desc.Digest.String(), nil)
				if err != nil {
					return nil, err
				}
				if kind == "manifests" {
					req.Header.Set("Accept", strings.Join(append([]string{desc.MediaType}, manifest.Accept...), ", "))
				}
				if offset > 0 {
					req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
				}
				return req, nil
			}})
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			if firstErr == nil || (errors.Is(firstErr, ErrUnreachable) && !errors.Is(err, ErrUnreachable)) {
				firstErr = err
			}
			continue
		}
		start := int64(0)
		if resp.StatusCode == http.StatusPartialContent {
			start = offset
		}
		body, err := capBody(resp, desc, desc.Size-start)
		if err != nil {
			if firstErr == nil || errors.Is(firstErr, ErrUnreachable) {
				firstErr = err
			}
			continue
		}
		return body, start, nil
	}
	return nil, 0, firstErr
}
