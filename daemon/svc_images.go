package daemon

import (
	"context"
	"fmt"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/gc"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"google.golang.org/protobuf/types/known/emptypb"
)

type imagesService struct {
	apiv1.UnimplementedImagesServer
	d *Daemon
}

// List serves the Images.List RPC.
func (s *imagesService) List(ctx context.Context, _ *apiv1.ListImagesRequest) (*apiv1.ListImagesResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	imgs, err := s.d.imgs.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ListImagesResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, s.d.imageInfo(ctx, ns, img, nil))
	}
	return resp, nil
}

// lookup finds an image by reference, or by a prefix (≥ 4 hex digits) of
// its ID or target digest.
func (d *Daemon) lookup(ctx context.Context, ns, name string) (images.Image, error) {
	if ref, err := reference.Parse(name); err == nil {
		img, err := d.imgs.Get(ctx, ns, ref.String())
		if err == nil {
			return img, nil
		}
	}
	id := strings.TrimPrefix(name, "sha256:")
	if len(id) >= 4 && strings.Trim(id, "0123456789abcdef") == "" {
		imgs, err := d.imgs.List(ctx, ns)
		if err != nil {
			return images.Image{}, err
		}
		var found []images.Image
		for _, img := range imgs {
			info := d.imageInfo(ctx, ns, img, nil)
			if strings.HasPrefix(strings.TrimPrefix(info.Id, "sha256:"), id) || strings.HasPrefix(img.Target.Digest.Encoded(), id) {
				found = append(found, img)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return images.Image{}, fmt.Errorf("%w: %s matches %d images; give a name", images.ErrInvalid, name, len(found))
		}
	}
	return images.Image{}, fmt.Errorf("%w: %s", images.ErrNotFound, name)
}

// Get serves the Images.Get RPC.
func (s *imagesService) Get(ctx context.Context, r *apiv1.GetImageRequest) (*apiv1.GetImageResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	img, err := s.d.lookup(ctx, ns, r.GetName())
	if err != nil {
		return nil, err
	}
	plat := fromPlatform(r.GetPlatform())
	resp := &apiv1.GetImageResponse{Image: s.d.imageInfo(ctx, ns, img, plat)}
	cs := s.d.cs(ns)
	p := platforms.Default()
	if plat != nil {
		p = *plat
	}
	if res, err := images.ResolveManifest(ctx, cs, img.Target, p); err == nil {
		resp.ManifestDescriptor = toDescriptor(res.Manifest)
		if resp.Manifest, err = images.ReadBlob(ctx, cs, res.Manifest); err != nil {
			return nil, err
		}
		if resp.Config, err = images.ReadBlob(ctx, cs, res.ManifestBody.Config); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Delete serves the Images.Delete RPC.
func (s *imagesService) Delete(ctx context.Context, r *apiv1.DeleteImageRequest) (*emptypb.Empty, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	img, err := s.d.lookup(ctx, ns, r.GetName())
	if err != nil {
		return nil, err
	}
	if err := s.d.imgs.Delete(ctx, ns, img.Name); err != nil {
		return nil, err
	}
	s.d.events.publish(ns, "/images/delete", map[string]string{"name": img.Name})
	if r.GetSync() {
		if _, err := s.d.gc(ctx); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Tag serves the Images.Tag RPC.
func (s *imagesService) Tag(ctx context.Context, r *apiv1.TagImageRequest) (*apiv1.ImageInfo, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	src, err := s.d.lookup(ctx, ns, r.GetSource())
	if err != nil {
		return nil, err
	}
	ref, err := reference.Parse(r.GetTarget())
	if err != nil {
		return nil, err
	}
	if ref.Digest != "" {
		return nil, fmt.Errorf("%w: tag %q must not carry a digest", reference.ErrInvalid, r.GetTarget())
	}
	img, err := s.d.imgs.Put(ctx, ns, images.Image{Name: ref.String(), Target: src.Target, Labels: src.Labels})
	if err != nil {
		return nil, err
	}
	s.d.events.publish(ns, "/images/create", map[string]string{"name": img.Name})
	return s.d.imageInfo(ctx, ns, img, nil), nil
}

// GarbageCollect serves the Images.GarbageCollect RPC.
func (s *imagesService) GarbageCollect(ctx context.Context, _ *emptypb.Empty) (*apiv1.GarbageCollectResponse, error) {
	r, err := s.d.gc(ctx)
	if err != nil {
		return nil, err
	}
	return &apiv1.GarbageCollectResponse{Blobs: int64(r.BlobsDeleted), Snapshots: int64(r.SnapshotsRemoved)}, nil
}

func (d *Daemon) gc(ctx context.Context) (gc.Stats, error) {
	d.gcLock.Lock()
	defer d.gcLock.Unlock()
	r, err := gc.Collect(ctx, d.meta)
	if err != nil {
		return r, fmt.Errorf("garbage collection: %w", err)
	}
	d.log.Info("garbage collected", "blobs", r.BlobsDeleted, "snapshots", r.SnapshotsRemoved, "duration", r.Duration)
	d.events.publish("", "/gc", map[string]string{"blobs": fmt.Sprint(r.BlobsDeleted), "snapshots": fmt.Sprint(r.SnapshotsRemoved)})
	return r, nil
}
