package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func pullScope(ref reference.Reference) string { return "repository:" + ref.Path + ":pull" }
func pushScope(ref reference.Reference) string { return "repository:" + ref.Path + ":pull,push" }

// Resolve finds the descriptor (media type, digest, size) of the manifest
// or index ref names, trying mirrors before the server.
func (c *Client) Resolve(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, error) {
	hosts, err := c.Hosts(ref.Domain, CapResolve)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var firstErr error
	for _, h := range hosts {
		d, err := c.resolveOn(ctx, h, ref)
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil || errors.Is(err, manifest.ErrSchema1) {
			return ocispec.Descriptor{}, err
		}
		c.o.Logger.Debug("resolve failed on host", "host", h.Host, "err", err)
		if firstErr == nil || (errors.Is(firstErr, ErrUnreachable) && !errors.Is(err, ErrUnreachable)) {
			firstErr = err
		}
	}
	return ocispec.Descriptor{}, firstErr
}

func (c *Client) resolveOn(ctx context.Context, h *Host, ref reference.Reference) (ocispec.Descriptor, error) {
	op := "resolve " + ref.String()
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp, err := c.do(ctx, request{host: h, domain: ref.Domain, scope: pullScope(ref), op: op,
			build: func(ctx context.Context, base string) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, method, base+"/"+ref.Path+"/manifests/"+ref.Object(), nil)
				if err == nil {
					req.Header.Set("Accept", strings.Join(manifest.Accept, ", "))
				}
				return req, err
			}})
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		mt := strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0])
		if mt == manifest.MediaTypeDockerSchema1 || mt == manifest.MediaTypeDockerSchema1Signed {
			drain(resp)
			return ocispec.Descriptor{}, fmt.Errorf("%s: %w", op, manifest.ErrSchema1)
		}
		dg := digest.Digest(resp.Header.Get("Docker-Content-Digest"))
		size, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
		if method == http.MethodHead {
			drain(resp)
			if dg.Validate() != nil || size <= 0 || (ref.Digest != "" && dg != ref.Digest) || (!manifest.IsIndex(mt) && !manifest.IsManifest(mt)) {
				continue // ask with GET and look at the body
			}
			return ocispec.Descriptor{MediaType: mt, Digest: dg, Size: size}, nil
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, manifest.MaxSize+1))
		resp.Body.Close()
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("%s: %w: %v", op, ErrUnreachable, err)
		}
		if len(b) > manifest.MaxSize {
			return ocispec.Descriptor{}, fmt.Errorf("%s: %w: manifest larger than %d bytes", op, manifest.ErrBadSize, manifest.MaxSize)
		}
		p, err := manifest.Parse(mt, b)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("%s: %w", op, err)
		}
		dg = digest.FromBytes(b)
		if ref.Digest != "" && dg != ref.Digest {
			return ocispec.Descriptor{}, fmt.Errorf("%s: %w: registry returned %s", op, ErrCorruptBlob, dg)
		}
		return ocispec.Descriptor{MediaType: p.MediaType, Digest: dg, Size: int64(len(b))}, nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s: no usable answer", op)
}
