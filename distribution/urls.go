package distribution

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// urlClient fetches blobs from the URLs of their descriptors (the
// non-distributable layers of Windows images, say). No registry
// credentials go there: the host is the manifest's choice, not the user's.
// TLS is verified with the system CAs; what arrives is checked against the
// descriptor's digest like any other blob.
var urlClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   4,
	},
}

// fetchURLs opens desc from the first of its URLs that serves it, starting
// at offset; it returns the first error when none does.
func (c *Client) fetchURLs(ctx context.Context, desc ocispec.Descriptor, offset int64) (io.ReadCloser, int64, error) {
	var firstErr error
	keep := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, raw := range desc.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			keep(fmt.Errorf("fetch %s: unusable URL %q in its descriptor", desc.Digest, raw))
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			keep(fmt.Errorf("fetch %s from %s: %w", desc.Digest, u.Redacted(), err))
			continue
		}
		req.Header.Set("User-Agent", c.o.UserAgent)
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		resp, err := urlClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			keep(fmt.Errorf("%w: fetch %s from %s: %v", ErrUnreachable, desc.Digest, u.Redacted(), err))
			continue
		}
		switch resp.StatusCode {
		case http.StatusOK, http.StatusPartialContent:
			start := int64(0)
			if resp.StatusCode == http.StatusPartialContent {
				start = offset
			}
			body, err := capBody(resp, desc, desc.Size-start)
			if err != nil {
				keep(err)
				continue
			}
			return body, start, nil
		}
		drain(resp)
		keep(&StatusError{Op: "fetch " + desc.Digest.String() + " from " + u.Redacted(), Status: resp.StatusCode})
	}
	return nil, 0, firstErr
}
