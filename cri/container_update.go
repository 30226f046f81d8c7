package cri

import (
	"context"

	"github.com/berth-dev/berth/engine"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateContainerResources serves RuntimeService.UpdateContainerResources
// for the limits the engine updates: memory and swap, CPU quota and
// shares, cpuset CPUs and memory nodes.
func (r *runtimeService) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	res := resources(req.GetLinux())
	var u engine.ResourceUpdate
	if res.Memory != 0 {
		u.Memory = &res.Memory
	}
	if res.NanoCPUs != 0 {
		u.NanoCPUs = &res.NanoCPUs
	}
	if res.CPUShares != 0 {
		u.CPUShares = &res.CPUShares
	}
	if res.MemorySwap != 0 {
		u.MemorySwap = &res.MemorySwap
	}
	if res.CpusetCpus != "" {
		u.CpusetCpus = &res.CpusetCpus
	}
	if res.CpusetMems != "" {
		u.CpusetMems = &res.CpusetMems
	}
	if err := r.s.cfg.Engine.UpdateContainer(ctx, Namespace, c.ID, u); err != nil {
		return nil, err
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}
