package daemon

import (
	"context"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/engine"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// volumesService serves the Volumes API over the engine's volumes, which
// belong to no namespace.
type volumesService struct {
	apiv1.UnimplementedVolumesServer
	d *Daemon
}

func toVolumeInfo(v engine.Volume) *apiv1.VolumeInfo {
	return &apiv1.VolumeInfo{
		Name: v.Name, Mountpoint: v.Mountpoint, Created: timestamppb.New(v.CreatedAt),
		Labels: v.Labels, Anonymous: v.Anonymous, Users: v.Users,
	}
}

// Create serves the Volumes.Create RPC.
func (s *volumesService) Create(ctx context.Context, r *apiv1.CreateVolumeRequest) (*apiv1.VolumeInfo, error) {
	v, err := s.d.engine.CreateVolume(ctx, r.GetName(), r.GetLabels())
	if err != nil {
		return nil, err
	}
	return toVolumeInfo(v), nil
}

// Get serves the Volumes.Get RPC.
func (s *volumesService) Get(ctx context.Context, r *apiv1.VolumeRequest) (*apiv1.VolumeInfo, error) {
	v, err := s.d.engine.Volume(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	return toVolumeInfo(v), nil
}

// List serves the Volumes.List RPC.
func (s *volumesService) List(ctx context.Context, r *apiv1.ListVolumesRequest) (*apiv1.ListVolumesResponse, error) {
	list, err := s.d.engine.Volumes(ctx, r.GetFilters()...)
	if err != nil {
		return nil, err
	}
	out := &apiv1.ListVolumesResponse{}
	for _, v := range list {
		out.Volumes = append(out.Volumes, toVolumeInfo(v))
	}
	return out, nil
}

// Remove serves the Volumes.Remove RPC.
func (s *volumesService) Remove(ctx context.Context, r *apiv1.RemoveVolumeRequest) (*emptypb.Empty, error) {
	if err := s.d.engine.RemoveVolume(ctx, r.GetName(), r.GetForce()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Prune serves the Volumes.Prune RPC.
func (s *volumesService) Prune(ctx context.Context, r *apiv1.PruneVolumesRequest) (*apiv1.PruneVolumesResponse, error) {
	removed, freed, err := s.d.engine.PruneVolumes(ctx, r.GetAll())
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneVolumesResponse{Removed: removed, SpaceReclaimed: uint64(max(freed, 0))}, nil
}
