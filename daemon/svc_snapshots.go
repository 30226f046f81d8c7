package daemon

import (
	"context"
	"fmt"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/snapshot"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type snapshotsService struct {
	apiv1.UnimplementedSnapshotsServer
	d *Daemon
}

var kindNames = map[snapshot.Kind]string{snapshot.KindView: "view", snapshot.KindActive: "active", snapshot.KindCommitted: "committed"}

func (s *snapshotsService) snapshotter(ctx context.Context) (snapshot.Snapshotter, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := s.d.engine.Snapshotter(ns)
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// List serves the Snapshots.List RPC.
func (s *snapshotsService) List(ctx context.Context, _ *emptypb.Empty) (*apiv1.ListSnapshotsResponse, error) {
	sn, err := s.snapshotter(ctx)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ListSnapshotsResponse{}
	err = sn.Walk(ctx, func(i snapshot.Info) error {
		resp.Snapshots = append(resp.Snapshots, &apiv1.SnapshotInfo{Name: i.Name, Parent: i.Parent, Kind: kindNames[i.Kind], Labels: i.Labels, Created: timestamppb.New(i.Created)})
		return nil
	})
	return resp, err
}

// Usage serves the Snapshots.Usage RPC.
func (s *snapshotsService) Usage(ctx context.Context, r *apiv1.SnapshotUsageRequest) (*apiv1.SnapshotUsageResponse, error) {
	sn, err := s.snapshotter(ctx)
	if err != nil {
		return nil, err
	}
	u, err := sn.Usage(ctx, r.GetKey())
	if err != nil {
		return nil, err
	}
	return &apiv1.SnapshotUsageResponse{Size: u.Size, Inodes: u.Inodes}, nil
}

// Remove serves the Snapshots.Remove RPC.
func (s *snapshotsService) Remove(ctx context.Context, r *apiv1.SnapshotUsageRequest) (*emptypb.Empty, error) {
	sn, err := s.snapshotter(ctx)
	if err != nil {
		return nil, err
	}
	if err := sn.Remove(ctx, r.GetKey()); err != nil {
		return nil, fmt.Errorf("remove snapshot %s: %w", r.GetKey(), err)
	}
	return &emptypb.Empty{}, nil
}
