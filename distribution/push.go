package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Push uploads the image rooted at root (a manifest or index in store) to
// ref: missing blobs first (a HEAD check skips what the registry has),
// then manifests, then the index, tagged with ref's tag. Children of an
// index that are not in the store are skipped if the registry has them,
// and are an error otherwise.
func (c *Client) Push(ctx context.Context, store content.Store, ref reference.Reference, root ocispec.Descriptor, progress ProgressFunc) error {
	return c.PushFrom(ctx, store, ref, root, "", progress)
}

// PushFrom is Push that first asks the registry to mount missing blobs from
// repository mountFrom of the same registry (cross-repo mount), uploading
// only what the mount did not provide. mountFrom "" disables mounting.
func (c *Client) PushFrom(ctx context.Context, store content.Store, ref reference.Reference, root ocispec.Descriptor, mountFrom string, progress ProgressFunc) error {
	if progress == nil {
		progress = func(Progress) {}
	}
	hosts, err := c.Hosts(ref.Domain, CapPush)
	if err != nil {
		return err
	}
	h := hosts[0]
	tag := ref.Tag
	if tag == "" {
		tag = root.Digest.String()
	}
	if mountFrom == ref.Path {
		mountFrom = ""
	}
	p := &pusher{c: c, h: h, store: store, ref: ref, mountFrom: mountFrom, progress: progress}
	return p.tree(ctx, root, tag)
}

// pusher carries one push's fixed parameters.
type pusher struct {
	c         *Client
	h         *Host
	store     content.Store
	ref       reference.Reference
	mountFrom string
	progress  ProgressFunc
}

func (ps *pusher) tree(ctx context.Context, desc ocispec.Descriptor, tag string) error {
	c, h, store, ref, progress := ps.c, ps.h, ps.store, ps.ref, ps.progress
	b, err := readBlob(ctx, store, desc)
	if err != nil {
		return err
	}
	p, err := manifest.Parse(desc.MediaType, b)
	if err != nil {
		return fmt.Errorf("push %s: %w", desc.Digest, err)
	}
	if p.Index != nil {
		for _, m := range p.Index.Manifests {
			if _, err := store.Info(ctx, m.Digest); errors.Is(err, content.ErrNotFound) {
				if ok, _ := c.exists(ctx, h, ref, m); ok {
					continue
				}
				return fmt.Errorf("push %s: manifest %s is not in the local store (pull all platforms first)", ref, m.Digest)
			}
			if err := ps.tree(ctx, m, m.Digest.String()); err != nil {
				return err
			}
		}
	} else {
		blobs := append([]ocispec.Descriptor{p.Manifest.Config}, p.Manifest.Layers...)
		for i, d := range blobs {
			kind := "layer"
			if i == 0 {
				kind = "config"
			}
			if manifest.IsForeignLayer(d.MediaType) {
				continue
			}
			if err := c.pushBlob(ctx, h, store, ref, d, kind, ps.mountFrom, progress); err != nil {
				return err
			}
		}
	}
	return c.putManifest(ctx, h, ref, desc, b, tag)
}

func readBlob(ctx context.Context, store content.Store, desc ocispec.Descriptor) ([]byte, error) {
	ra, err := store.ReaderAt(ctx, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	if ra.Size() > 4<<20 {
		return nil, fmt.Errorf("read %s: manifest larger than 4 MiB", desc.Digest)
	}
	b := make([]byte, ra.Size())
	if _, err := ra.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", desc.Digest, err)
	}
	return b, nil
}

func (c *Client) exists(ctx context.Context, h *Host, ref reference.Reference, d ocispec.Descriptor) (bool, error) {
	kind := "blobs"
	if manifest.IsIndex(d.MediaType) || manifest.IsManifest(d.MediaType) {
		kind = "manifests"
	}
	resp, err := c.do(ctx, request{host: h, domain: ref.Domain, scope: pushScope(ref), op: "check " + d.Digest.String(),
		build: func(ctx context.Context, base string) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, base+"/"+ref.Path+"/"+kind+"/"+d.Digest.String(), nil)
			if err == nil && kind == "manifests" {
				req.Header.Set("Accept", strings.Join(manifest.Accept, ", "))
			}
			return req, err
		}})
	if errors.Is(err, errdefs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	drain(resp)
	return true, nil
}

func (c *Client) pushBlob(ctx context.Context, h *Host, store content.Store, ref reference.Reference, d ocispec.Descriptor, kind, mountFrom string, progress ProgressFunc) error {
	ev := Progress{Digest: d.Digest.String(), MediaType: d.MediaType, Kind: kind, Total: d.Size}
	ok, err := c.exists(ctx, h, ref, d)
	if err != nil {
		return err
	}
	if ok {
		ev.State, ev.Offset = StateExists, d.Size
		progress(ev)
		return nil
	}
	ev.State = StateUploading
	progress(ev)
	op := "upload " + d.Digest.String()
	scope := pushScope(ref)
	query := ""
	if mountFrom != "" {
		scope += " repository:" + mountFrom + ":pull"
		query = "?" + url.Values{"mount": {d.Digest.String()}, "from": {mountFrom}}.Encode()
	}
	resp, err := c.do(ctx, request{host: h, domain: ref.Domain, scope: scope, op: op,
		build: func(ctx context.Context, base string) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+ref.Path+"/blobs/uploads/"+query, nil)
		}})
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode == http.StatusCreated { // mounted, nothing to upload
		ev.State, ev.Offset = StateExists, d.Size
		progress(ev)
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("%s: registry gave no upload location: %w", op, err)
	}
	q := loc.Query()
	q.Set("digest", d.Digest.String())
	loc.RawQuery = q.Encode()
	ra, err := store.ReaderAt(ctx, d.Digest)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer ra.Close()
	resp, err = c.do(ctx, request{host: h, domain: ref.Domain, scope: pushScope(ref), op: op,
		build: func(ctx context.Context, _ string) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), io.NewSectionReader(ra, 0, ra.Size()))
			if err != nil {
				return nil, err
			}
			req.ContentLength = ra.Size()
			req.Header.Set("Content-Type", "application/octet-stream")
			return req, nil
		}})
	if err != nil {
		return err
	}
	drain(resp)
	ev.State, ev.Offset = StateDone, d.Size
	progress(ev)
	return nil
}

func (c *Client) putManifest(ctx context.Context, h *Host, ref reference.Reference, d ocispec.Descriptor, b []byte, tag string) error {
	resp, err := c.do(ctx, request{host: h, domain: ref.Domain, scope: pushScope(ref), op: "put manifest " + ref.Path + ":" + tag,
		build: func(ctx context.Context, base string) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/"+ref.Path+"/manifests/"+url.PathEscape(tag), strings.NewReader(string(b)))
			if err == nil {
				req.Header.Set("Content-Type", d.MediaType)
			}
			return req, err
		}})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}
