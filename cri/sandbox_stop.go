package cri

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopPodSandbox serves RuntimeService.StopPodSandbox: the pod's
// containers are killed, then its pause process stopped, which tears
// down its network. Stopping what is stopped or gone is no error.
func (r *runtimeService) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	sb, err := r.s.sandbox(ctx, req.GetPodSandboxId())
	if errors.Is(err, errdefs.ErrNotFound) {
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := r.s.stopSandbox(ctx, sb); err != nil {
		return nil, err
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

// stopSandbox kills the sandbox's containers and stops its pause.
func (s *Server) stopSandbox(ctx context.Context, sb engine.Container) error {
	ctrs, err := s.podContainers(ctx, sb.ID)
	if err != nil {
		return err
	}
	now := time.Duration(0)
	for _, c := range ctrs {
		if err := s.cfg.Engine.StopContainer(ctx, Namespace, c.ID, &now); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("stop container %.12s of pod sandbox %.12s: %w", c.ID, sb.ID, err)
		}
	}
	grace := 10 * time.Second
	if err := s.cfg.Engine.StopContainer(ctx, Namespace, sb.ID, &grace); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("stop pod sandbox %.12s: %w", sb.ID, err)
	}
	return nil
}

// podContainers are the containers of a sandbox.
func (s *Server) podContainers(ctx context.Context, sandboxID string) ([]engine.Container, error) {
	all, err := s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if c.Labels[labelSandbox] == sandboxID {
			out = append(out, c)
		}
	}
	return out, nil
}

// RemovePodSandbox serves RuntimeService.RemovePodSandbox: the pod's
// containers and its pause are removed, running or not. Removing what
// is gone is no error.
func (r *runtimeService) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	s := r.s
	sb, err := s.sandbox(ctx, req.GetPodSandboxId())
	if errors.Is(err, errdefs.ErrNotFound) {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	ctrs, err := s.podContainers(ctx, sb.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range append(ctrs, sb) {
		if err := s.cfg.Engine.RemoveContainer(ctx, Namespace, c.ID, engine.RemoveOptions{Force: true}); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return nil, fmt.Errorf("remove %.12s of pod sandbox %.12s: %w", c.ID, sb.ID, err)
		}
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
