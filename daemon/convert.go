package daemon

import (
	"context"
	"fmt"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func toDescriptor(d ocispec.Descriptor) *apiv1.Descriptor {
	out := &apiv1.Descriptor{MediaType: d.MediaType, Digest: d.Digest.String(), Size: d.Size, Annotations: d.Annotations}
	if d.Platform != nil {
		out.Platform = toPlatform(*d.Platform)
	}
	return out
}

func toPlatform(p ocispec.Platform) *apiv1.Platform {
	return &apiv1.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromPlatform(p *apiv1.Platform) *ocispec.Platform {
	if p == nil || p.GetOs() == "" {
		return nil
	}
	return &ocispec.Platform{OS: p.GetOs(), Architecture: p.GetArchitecture(), Variant: p.GetVariant()}
}

// imageInfo fills in the config-derived fields for the host platform (or
// the given one) when its manifest is present.
func (d *Daemon) imageInfo(ctx context.Context, ns string, img images.Image, plat *ocispec.Platform) *apiv1.ImageInfo {
	cs := d.cs(ns)
	info := &apiv1.ImageInfo{
		Name:      img.Name,
		Target:    toDescriptor(img.Target),
		Labels:    img.Labels,
		CreatedAt: timestamppb.New(img.CreatedAt),
		UpdatedAt: timestamppb.New(img.UpdatedAt),
	}
	p := platforms.Default()
	if plat != nil {
		p = *plat
	}
	res, err := images.ResolveManifest(ctx, cs, img.Target, p)
	if err != nil && plat == nil {
		// Only another platform was pulled: describe that one.
		res, err = anyPresentManifest(ctx, cs, img.Target)
	}
	if err != nil {
		return info
	}
	info.Id = res.ManifestBody.Config.Digest.String()
	info.Size = res.Size()
	if res.Config.Created != nil {
		info.Created = timestamppb.New(*res.Config.Created)
	}
	info.Platform = toPlatform(res.Config.Platform)
	return info
}

// anyPresentManifest resolves the first manifest of an index whose
// content is in the store.
func anyPresentManifest(ctx context.Context, cs content.Store, target ocispec.Descriptor) (*images.Resolved, error) {
	kids, err := images.Children(ctx, cs, target)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		if k.Platform == nil || !manifest.IsManifest(k.MediaType) {
			continue
		}
		if _, err := cs.Info(ctx, k.Digest); err != nil {
			continue
		}
		if res, err := images.ResolveManifest(ctx, cs, target, *k.Platform); err == nil {
			return res, nil
		}
	}
	return nil, fmt.Errorf("%w: no platform of %s is present", images.ErrNotFound, target.Digest)
}
