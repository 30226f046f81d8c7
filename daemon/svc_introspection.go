package daemon

import (
	"context"
	"os"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/version"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type introspectionService struct {
	apiv1.UnimplementedIntrospectionServer
	d *Daemon
}

// Info serves the Introspection.Info RPC.
func (s *introspectionService) Info(ctx context.Context, _ *emptypb.Empty) (*apiv1.InfoResponse, error) {
	d := s.d
	nss, err := d.engine.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.InfoResponse{
		Version: version.Version, Root: d.cfg.Root, State: d.cfg.State, Address: d.cfg.Address,
		Snapshotter: d.cfg.Snapshotter, Pid: int32(os.Getpid()), Started: timestamppb.New(d.started),
		Platform: toPlatform(platforms.Default()), Namespaces: nss,
	}
	resp.ContentBlobs, resp.ContentBytes, err = d.engine.ContentUsage(ctx)
	return resp, err
}

// Plugins serves the Introspection.Plugins RPC.
func (s *introspectionService) Plugins(context.Context, *emptypb.Empty) (*apiv1.PluginsResponse, error) {
	ok := func(typ, id string) *apiv1.Plugin { return &apiv1.Plugin{Type: typ, Id: id, Status: "ok"} }
	plugins := []*apiv1.Plugin{
		ok("content", "local"),
		ok("snapshotter", s.d.cfg.Snapshotter),
		ok("metadata", "bolt"),
		ok("distribution", "registry"),
		ok("grpc", "images"), ok("grpc", "content"), ok("grpc", "transfer"), ok("grpc", "snapshots"),
		ok("grpc", "namespaces"), ok("grpc", "events"), ok("grpc", "introspection"), ok("grpc", "version"),
	}
	if s.d.cfg.Metrics.Address != "" {
		plugins = append(plugins, ok("metrics", "prometheus"))
	}
	return &apiv1.PluginsResponse{Plugins: plugins}, nil
}
