package daemon

import (
	"context"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/engine"
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
	imgs, err := s.d.engine.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ListImagesResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, toImageInfo(img))
	}
	return resp, nil
}

// Get serves the Images.Get RPC.
func (s *imagesService) Get(ctx context.Context, r *apiv1.GetImageRequest) (*apiv1.GetImageResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	in, err := s.d.engine.Inspect(ctx, ns, r.GetName(), fromPlatform(r.GetPlatform()))
	if err != nil {
		return nil, err
	}
	resp := &apiv1.GetImageResponse{Image: toImageInfo(in.ImageInfo), Manifest: in.Manifest, Config: in.Config}
	if in.ManifestDescriptor != nil {
		resp.ManifestDescriptor = toDescriptor(*in.ManifestDescriptor)
	}
	return resp, nil
}

// Delete serves the Images.Delete RPC.
func (s *imagesService) Delete(ctx context.Context, r *apiv1.DeleteImageRequest) (*emptypb.Empty, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.d.engine.Delete(ctx, ns, r.GetName(), engine.DeleteOptions{Sync: r.GetSync(), Force: r.GetForce()}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Tag serves the Images.Tag RPC.
func (s *imagesService) Tag(ctx context.Context, r *apiv1.TagImageRequest) (*apiv1.ImageInfo, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	img, err := s.d.engine.Tag(ctx, ns, r.GetSource(), r.GetTarget())
	if err != nil {
		return nil, err
	}
	return toImageInfo(img), nil
}

// GarbageCollect serves the Images.GarbageCollect RPC.
func (s *imagesService) GarbageCollect(ctx context.Context, _ *emptypb.Empty) (*apiv1.GarbageCollectResponse, error) {
	r, err := s.d.engine.GC(ctx)
	if err != nil {
		return nil, err
	}
	return &apiv1.GarbageCollectResponse{Blobs: int64(r.BlobsDeleted), Snapshots: int64(r.SnapshotsRemoved)}, nil
}
