package cri

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStats serves RuntimeService.ContainerStats from the
// container's cgroup (engine.ContainerStats).
func (r *runtimeService) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	st, err := r.s.stats(ctx, c)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// stats samples a container; one that does not run has only its
// attributes.
func (s *Server) stats(ctx context.Context, c engine.Container) (*runtimeapi.ContainerStats, error) {
	var meta containerMeta
	if err := decodeMeta(c, &meta); err != nil {
		return nil, err
	}
	st := &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{
		Id: c.ID, Metadata: &runtimeapi.ContainerMetadata{Name: meta.Name, Attempt: meta.Attempt},
		Labels: criLabels(c.Labels), Annotations: meta.Annotations,
	}}
	sample, err := s.cfg.Engine.ContainerStats(ctx, Namespace, c.ID)
	if errors.Is(err, errdefs.ErrFailedPrecondition) {
		return st, nil // not running
	}
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	st.Cpu = &runtimeapi.CpuUsage{Timestamp: now, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: sample.CPUTotal}}
	st.Memory = &runtimeapi.MemoryUsage{Timestamp: now, WorkingSetBytes: &runtimeapi.UInt64Value{Value: sample.MemoryUsage},
		UsageBytes: &runtimeapi.UInt64Value{Value: sample.MemoryUsage}}
	return st, nil
}

// ListContainerStats serves RuntimeService.ListContainerStats with its
// filter (ID, sandbox, labels).
func (r *runtimeService) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	ctrs, err := r.s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	var out []*runtimeapi.ContainerStats
	for _, c := range ctrs {
		if !matchID(c.ID, f.GetId()) || !matchID(c.Labels[labelSandbox], f.GetPodSandboxId()) || !matchLabels(criLabels(c.Labels), f.GetLabelSelector()) {
			continue
		}
		st, err := r.s.stats(ctx, c)
		if errors.Is(err, errdefs.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return &runtimeapi.ListContainerStatsResponse{Stats: out}, nil
}
