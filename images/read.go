package images

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/snapshot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ReadBlob reads a manifest, index or config from the store, capped at
// manifest.MaxSize.
func ReadBlob(ctx context.Context, cs content.Store, desc ocispec.Descriptor) ([]byte, error) {
	return content.ReadBlob(ctx, cs, desc, manifest.MaxSize)
}

// readManifest reads and parses a manifest or index from the store.
func readManifest(ctx context.Context, cs content.Store, desc ocispec.Descriptor) (*manifest.Parsed, error) {
	b, err := ReadBlob(ctx, cs, desc)
	if err != nil {
		return nil, err
	}
	p, err := manifest.Parse(desc.MediaType, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc.Digest, err)
	}
	return p, nil
}

// Resolved is an image's platform manifest and config.
type Resolved struct {
	Manifest     ocispec.Descriptor
	ManifestBody ocispec.Manifest
	Config       ocispec.Image
	// Index is the root index when the target is one.
	Index *ocispec.Index
}

// ResolveManifest follows target (a manifest or index) to the manifest for
// platform and reads its config.
func ResolveManifest(ctx context.Context, cs content.Store, target ocispec.Descriptor, platform ocispec.Platform) (*Resolved, error) {
	res := &Resolved{}
	desc := target
	for depth := 0; ; depth++ {
		if depth > 4 {
			return nil, fmt.Errorf("%w: indexes nested too deep", ErrInvalid)
		}
		p, err := readManifest(ctx, cs, desc)
		if err != nil {
			return nil, err
		}
		if p.Index != nil {
			if res.Index == nil {
				res.Index = p.Index
			}
			d, err := platforms.Select(p.Index, platform)
			if err != nil {
				return nil, err
			}
			desc = d
			continue
		}
		res.Manifest, res.ManifestBody = desc, *p.Manifest
		break
	}
	b, err := ReadBlob(ctx, cs, res.ManifestBody.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &res.Config); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", res.ManifestBody.Config.Digest, err)
	}
	return res, nil
}

// ValidateLayers checks that a manifest's layers and the config's diff_ids
// agree in number.
func (r *Resolved) ValidateLayers() error {
	if len(r.ManifestBody.Layers) != len(r.Config.RootFS.DiffIDs) {
		return fmt.Errorf("%w: manifest has %d layers but config lists %d diff_ids", ErrInvalid, len(r.ManifestBody.Layers), len(r.Config.RootFS.DiffIDs))
	}
	for _, d := range r.Config.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("%w: diff_id %q: %v", ErrInvalid, d, err)
		}
	}
	return nil
}

// Size is the sum of the sizes of the manifest, config and layers.
func (r *Resolved) Size() int64 {
	n := r.Manifest.Size + r.ManifestBody.Config.Size
	for _, l := range r.ManifestBody.Layers {
		n += l.Size
	}
	return n
}

// ChainIDs returns the image-spec chain ID of each layer prefix (see
// snapshot.ChainIDs).
func ChainIDs(diffIDs []digest.Digest) []digest.Digest { return snapshot.ChainIDs(diffIDs) }

// Children lists the descriptors a manifest or index refers to (for GC,
// push and save); other blobs have none.
func Children(ctx context.Context, cs content.Store, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if !manifest.IsIndex(desc.MediaType) && !manifest.IsManifest(desc.MediaType) {
		return nil, nil
	}
	p, err := readManifest(ctx, cs, desc)
	if err != nil {
		return nil, err
	}
	return p.Children(), nil
}

// Walk visits desc and everything below it that is present in the store.
func Walk(ctx context.Context, cs content.Store, desc ocispec.Descriptor, fn func(ocispec.Descriptor) error) error {
	if err := fn(desc); err != nil {
		return err
	}
	if _, err := cs.Info(ctx, desc.Digest); err != nil {
		return nil
	}
	kids, err := Children(ctx, cs, desc)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := Walk(ctx, cs, k, fn); err != nil {
			return err
		}
	}
	return nil
}
