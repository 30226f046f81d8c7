package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Streamer hands out the URLs of a streaming server for Exec, Attach and
// PortForward (package cri/streaming).
type Streamer interface {
	GetExec(*runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	GetAttach(*runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	GetPortForward(*runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

var errNoStreamer = status.Error(codes.Unimplemented, "no streaming server is configured")

// Exec serves RuntimeService.Exec through the streaming server.
func (r *runtimeService) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if r.s.cfg.Streamer == nil {
		return nil, errNoStreamer
	}
	if _, err := r.s.container(ctx, req.GetContainerId()); err != nil {
		return nil, err
	}
	return r.s.cfg.Streamer.GetExec(req)
}

// Attach serves RuntimeService.Attach through the streaming server.
func (r *runtimeService) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if r.s.cfg.Streamer == nil {
		return nil, errNoStreamer
	}
	if _, err := r.s.container(ctx, req.GetContainerId()); err != nil {
		return nil, err
	}
	return r.s.cfg.Streamer.GetAttach(req)
}

// PortForward serves RuntimeService.PortForward through the streaming
// server.
func (r *runtimeService) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if r.s.cfg.Streamer == nil {
		return nil, errNoStreamer
	}
	if _, err := r.s.sandbox(ctx, req.GetPodSandboxId()); err != nil {
		return nil, err
	}
	return r.s.cfg.Streamer.GetPortForward(req)
}
