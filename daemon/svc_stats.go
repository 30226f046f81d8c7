package daemon

import (
	"context"
	"errors"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/engine"
	"google.golang.org/protobuf/types/known/emptypb"
)

type statsService struct {
	apiv1.UnimplementedContainerStatsServer
	d *Daemon
}

// Top serves the ContainerStats.Top RPC.
func (s *statsService) Top(ctx context.Context, r *apiv1.TopRequest) (*apiv1.TopResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	titles, rows, err := s.d.engine.TopContainer(ctx, ns, r.GetId(), r.GetPsArgs())
	if err != nil {
		return nil, err
	}
	resp := &apiv1.TopResponse{Titles: titles}
	for _, row := range rows {
		resp.Processes = append(resp.Processes, &apiv1.TopRow{Fields: row})
	}
	return resp, nil
}

// Stats serves the ContainerStats.Stats RPC. With no IDs it samples the
// running containers, skipping one that stops meanwhile.
func (s *statsService) Stats(ctx context.Context, r *apiv1.StatsRequest) (*apiv1.StatsResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	ids := r.GetIds()
	all := len(ids) == 0
	if all {
		cs, err := s.d.engine.Containers(ctx, ns, false)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
	}
	resp := &apiv1.StatsResponse{}
	for _, id := range ids {
		x, err := s.d.engine.ContainerStats(ctx, ns, id)
		if errors.Is(err, engine.ErrNotRunning) && all {
			continue
		}
		if err != nil {
			return nil, err
		}
		resp.Stats = append(resp.Stats, &apiv1.ContainerStatsSample{
			Id: x.ID, Name: x.Name, CpuTotal: x.CPUTotal, SystemCpu: x.SystemCPU, OnlineCpus: x.OnlineCPUs,
			MemoryUsage: x.MemoryUsage, MemoryLimit: x.MemoryLimit, Pids: x.Pids,
			NetRx: x.NetRx, NetTx: x.NetTx, BlockRead: x.BlockRead, BlockWrite: x.BlockWrite,
		})
	}
	return resp, nil
}

// Update serves the ContainerStats.Update RPC.
func (s *statsService) Update(ctx context.Context, r *apiv1.UpdateRequest) (*emptypb.Empty, error) {
	return nsDo(ctx, func(ns string) error {
		return s.d.engine.UpdateContainer(ctx, ns, r.GetId(), engine.ResourceUpdate{
			Memory: r.Memory, NanoCPUs: r.NanoCpus, PidsLimit: r.PidsLimit, CPUShares: r.CpuShares,
		})
	})
}

// DiskUsage serves the ContainerStats.DiskUsage RPC.
func (s *statsService) DiskUsage(ctx context.Context, _ *emptypb.Empty) (*apiv1.DiskUsageResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.engine.SystemDiskUsage(ctx, ns)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.DiskUsageResponse{}
	for _, u := range rows {
		resp.Rows = append(resp.Rows, &apiv1.DiskUsageRow{Type: u.Type, Total: uint64(u.Total), Active: uint64(u.Active), Size: uint64(u.Size), Reclaimable: uint64(u.Reclaimable)})
	}
	return resp, nil
}
