package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type containersService struct {
	apiv1.UnimplementedContainersServer
	d *Daemon
}

func toContainerInfo(c engine.Container) *apiv1.ContainerInfo {
	ts := func(t time.Time) *timestamppb.Timestamp {
		if t.IsZero() {
			return nil
		}
		return timestamppb.New(t)
	}
	return &apiv1.ContainerInfo{
		Id: c.ID, Name: c.Name, Image: c.Image, ImageId: c.ImageID, Config: c.Config,
		Created: ts(c.CreatedAt), State: c.Status.State, Pid: int64(c.Status.Pid),
		ExitCode: int32(c.Status.ExitCode), Reason: c.Status.Reason, StartedAt: ts(c.Status.StartedAt),
		FinishedAt: ts(c.Status.FinishedAt), RestartCount: int32(c.Status.RestartCount),
		Runtime: c.Runtime, SnapshotKey: c.SnapshotKey, Labels: c.Labels, Command: c.Command,
		Network: networkJSON(c.Status.Network),
	}
}

// networkJSON encodes a container's network settings, nil without.
func networkJSON(s *container.NetworkSettings) []byte {
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(s)
	return b
}

// Create serves the Containers.Create RPC.
func (s *containersService) Create(ctx context.Context, r *apiv1.CreateContainerRequest) (*apiv1.ContainerInfo, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(r.GetConfig())
	if err != nil {
		return nil, err
	}
	c, err := s.d.engine.CreateContainer(ctx, ns, cfg)
	if err != nil {
		return nil, err
	}
	return toContainerInfo(c), nil
}

// decodeConfig decodes a client's container config (JSON).
func decodeConfig(raw []byte) (container.Config, error) {
	var cfg container.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("%w: container config: %v", errdefs.ErrInvalidArgument, err)
	}
	return cfg, nil
}

// nsDo runs fn with the request's namespace and answers Empty.
func nsDo(ctx context.Context, fn func(ns string) error) (*emptypb.Empty, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	if err := fn(ns); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Start serves the Containers.Start RPC.
func (s *containersService) Start(ctx context.Context, r *apiv1.ContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.StartContainer(ctx, ns, r.GetId()) })
}

// Stop serves the Containers.Stop RPC.
func (s *containersService) Stop(ctx context.Context, r *apiv1.StopContainerRequest) (*emptypb.Empty, error) {
	var timeout *time.Duration
	if r.TimeoutSeconds != nil {
		d := time.Duration(r.GetTimeoutSeconds()) * time.Second
		timeout = &d
	}
	return nsDo(ctx, func(ns string) error { return s.d.engine.StopContainer(ctx, ns, r.GetId(), timeout) })
}

// Kill serves the Containers.Kill RPC.
func (s *containersService) Kill(ctx context.Context, r *apiv1.KillContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.KillContainer(ctx, ns, r.GetId(), r.GetSignal()) })
}

// Delete serves the Containers.Delete RPC.
func (s *containersService) Delete(ctx context.Context, r *apiv1.DeleteContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error {
		return s.d.engine.RemoveContainer(ctx, ns, r.GetId(), engine.RemoveOptions{Force: r.GetForce(), Volumes: r.GetVolumes()})
	})
}

// Rename serves the Containers.Rename RPC.
func (s *containersService) Rename(ctx context.Context, r *apiv1.RenameContainerRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error { return s.d.engine.Rename(ctx, ns, r.GetId(), r.GetName()) })
}

// List serves the Containers.List RPC.
func (s *containersService) List(ctx context.Context, r *apiv1.ListContainersRequest) (*apiv1.ListContainersResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.d.engine.Containers(ctx, ns, r.GetAll())
	if err != nil {
		return nil, err
	}
	out := &apiv1.ListContainersResponse{}
	for _, c := range list {
		out.Containers = append(out.Containers, toContainerInfo(c))
	}
	return out, nil
}

// Get serves the Containers.Get RPC.
func (s *containersService) Get(ctx context.Context, r *apiv1.ContainerRequest) (*apiv1.ContainerInfo, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.engine.Container(ctx, ns, r.GetId())
	if err != nil {
		return nil, err
	}
	return toContainerInfo(c), nil
}

// Wait serves the Containers.Wait RPC.
func (s *containersService) Wait(ctx context.Context, r *apiv1.ContainerRequest) (*apiv1.ContainerInfo, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.d.engine.WaitContainer(ctx, ns, r.GetId())
	if err != nil {
		return nil, err
	}
	return toContainerInfo(c), nil
}

// Logs serves the Containers.Logs RPC.
func (s *containersService) Logs(r *apiv1.LogsRequest, stream grpc.ServerStreamingServer[apiv1.LogLine]) error {
	ctx := stream.Context()
	ns, err := namespace(ctx)
	if err != nil {
		return err
	}
	o := container.LogOptions{Follow: r.GetFollow(), Tail: int(r.GetTail())}
	if r.GetSince() != nil {
		o.Since = r.GetSince().AsTime()
	}
	if r.GetUntil() != nil {
		o.Until = r.GetUntil().AsTime()
	}
	return s.d.engine.LogEntries(ctx, ns, r.GetId(), o, func(t time.Time, streamName string, line []byte) error {
		return stream.Send(&apiv1.LogLine{Time: timestamppb.New(t), Stream: streamName, Line: line})
	})
}
