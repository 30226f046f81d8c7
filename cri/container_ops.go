package cri

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer serves RuntimeService.StartContainer.
func (r *runtimeService) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if err := r.s.cfg.Engine.StartContainer(ctx, Namespace, c.ID); err != nil {
		return nil, err
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

// StopContainer serves RuntimeService.StopContainer: the stop signal,
// then SIGKILL after the timeout (seconds). Stopping what is stopped or
// gone is no error.
func (r *runtimeService) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if errors.Is(err, errdefs.ErrNotFound) {
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(max(req.GetTimeout(), 0)) * time.Second
	if err := r.s.cfg.Engine.StopContainer(ctx, Namespace, c.ID, &timeout); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

// RemoveContainer serves RuntimeService.RemoveContainer: a running
// container is killed first. Removing what is gone is no error.
func (r *runtimeService) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if errors.Is(err, errdefs.ErrNotFound) {
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.s.cfg.Engine.RemoveContainer(ctx, Namespace, c.ID, engine.RemoveOptions{Force: true}); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

// ReopenContainerLog serves RuntimeService.ReopenContainerLog: the shim
// opens log_path again (the kubelet has renamed the old file). A
// container that does not run is FailedPrecondition.
func (r *runtimeService) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if err := r.s.cfg.Engine.ReopenContainerLog(ctx, Namespace, c.ID); err != nil {
		return nil, err
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
