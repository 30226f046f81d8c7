package daemon

import (
	"context"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/network"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// networksService serves the Networks API over the engine's networks,
// which belong to no namespace.
type networksService struct {
	apiv1.UnimplementedNetworksServer
	d *Daemon
}

func toNetworkInfo(n engine.NetworkInfo) *apiv1.NetworkInfo {
	info := &apiv1.NetworkInfo{
		Id: n.ID, Name: n.Name, Subnet: n.Subnet, Gateway: n.Gateway, Subnet6: n.Subnet6, Gateway6: n.Gateway6,
		Internal: n.Internal, Ipv6: n.IPv6, Labels: n.Labels, Bridge: n.Bridge, Owned: n.Owned,
		Created: timestamppb.New(n.Created), Options: map[string]string{},
	}
	if n.Isolate {
		info.Options["isolate"] = "true"
	}
	for _, a := range n.Attachments {
		ep := &apiv1.NetworkEndpoint{ContainerId: a.ContainerID, IfName: a.IfName, Mac: a.MAC, Aliases: a.Aliases}
		for _, p := range a.IPs {
			ep.Ips = append(ep.Ips, p.String())
		}
		info.Containers = append(info.Containers, ep)
	}
	return info
}

// Create serves the Networks.Create RPC.
func (s *networksService) Create(ctx context.Context, r *apiv1.CreateNetworkRequest) (*apiv1.NetworkInfo, error) {
	c := network.NetworkConfig{
		Name: r.GetName(), Subnet: r.GetSubnet(), Gateway: r.GetGateway(), Internal: r.GetInternal(),
		IPv6: r.GetIpv6(), Subnet6: r.GetSubnet6(), Labels: r.GetLabels(),
	}
	for k, v := range r.GetOptions() {
		if err := c.SetOption(k, v); err != nil {
			return nil, err
		}
	}
	n, err := s.d.engine.CreateNetwork(ctx, c)
	if err != nil {
		return nil, err
	}
	return toNetworkInfo(n), nil
}

// Get serves the Networks.Get RPC.
func (s *networksService) Get(ctx context.Context, r *apiv1.NetworkRequest) (*apiv1.NetworkInfo, error) {
	n, err := s.d.engine.Network(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	return toNetworkInfo(n), nil
}

// List serves the Networks.List RPC.
func (s *networksService) List(ctx context.Context, _ *apiv1.ListNetworksRequest) (*apiv1.ListNetworksResponse, error) {
	list, err := s.d.engine.Networks(ctx)
	if err != nil {
		return nil, err
	}
	out := &apiv1.ListNetworksResponse{}
	for _, n := range list {
		out.Networks = append(out.Networks, toNetworkInfo(n))
	}
	return out, nil
}

// Remove serves the Networks.Remove RPC.
func (s *networksService) Remove(ctx context.Context, r *apiv1.NetworkRequest) (*emptypb.Empty, error) {
	if err := s.d.engine.RemoveNetwork(ctx, r.GetName()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Prune serves the Networks.Prune RPC.
func (s *networksService) Prune(ctx context.Context, _ *apiv1.PruneNetworksRequest) (*apiv1.PruneNetworksResponse, error) {
	removed, err := s.d.engine.PruneNetworks(ctx)
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneNetworksResponse{Removed: removed}, nil
}

// Connect serves the Networks.Connect RPC.
func (s *networksService) Connect(ctx context.Context, r *apiv1.ConnectNetworkRequest) (*emptypb.Empty, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	ep := container.Endpoint{Network: r.GetNetwork(), IP: r.GetIp(), Aliases: r.GetAliases()}
	if err := s.d.engine.ConnectNetwork(ctx, ns, r.GetContainer(), ep); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Disconnect serves the Networks.Disconnect RPC.
func (s *networksService) Disconnect(ctx context.Context, r *apiv1.DisconnectNetworkRequest) (*emptypb.Empty, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.d.engine.DisconnectNetwork(ctx, ns, r.GetContainer(), r.GetNetwork(), r.GetForce()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
