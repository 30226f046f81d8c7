package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Status serves RuntimeService.Status: the runtime is ready while it
// answers; the network when CNI can be used.
func (r *runtimeService) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if err := r.s.cfg.Engine.NetworkReady(ctx); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", err.Error()
	}
	resp := &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true}, netCond,
		}},
		RuntimeHandlers: r.s.handlers(),
		Features:        &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	if req.GetVerbose() {
		r.s.mu.Lock()
		info := map[string]any{"address": r.s.cfg.Address, "namespace": Namespace, "network": r.s.cfg.Network,
			"podCIDR": r.s.podCIDR, "runtimes": r.s.cfg.Engine.Runtimes(), "streaming": r.s.cfg.Streamer != nil,
			"sandboxImage": r.s.cfg.SandboxImage}
		r.s.mu.Unlock()
		b, err := json.Marshal(info)
		if err != nil {
			return nil, fmt.Errorf("encode status info: %w", err)
		}
		resp.Info = map[string]string{"config": string(b)}
	}
	return resp, nil
}

// handlers lists the runtime handlers: "" (the default, berth-runtime),
// then each runtime of the engine by name, with user namespaces where
// the runtime supports them and idmapped mounts, and recursively
// read-only mounts where it makes them (its `features`).
func (s *Server) handlers() []*runtimeapi.RuntimeHandler {
	e := s.cfg.Engine
	features := func(rt string) *runtimeapi.RuntimeHandlerFeatures {
		return &runtimeapi.RuntimeHandlerFeatures{UserNamespaces: e.UserNamespaces(rt), RecursiveReadOnlyMounts: s.recursiveReadOnly(rt)}
	}
	out := []*runtimeapi.RuntimeHandler{{Name: "", Features: features("")}}
	for _, n := range e.Runtimes() {
		out = append(out, &runtimeapi.RuntimeHandler{Name: n, Features: features(n)})
	}
	return out
}

// runtimeOf maps a runtime handler to an engine runtime name: "" is the
// default; an unknown one is refused.
func (s *Server) runtimeOf(handler string) (string, error) {
	if handler == "" {
		return "", nil
	}
	for _, n := range s.cfg.Engine.Runtimes() {
		if n == handler {
			if n == engine.DefaultRuntime {
				return "", nil
			}
			return n, nil
		}
	}
	return "", fmt.Errorf("%w: unknown runtime handler %q (have %v)", errdefs.ErrInvalidArgument, handler, s.cfg.Engine.Runtimes())
}

// RuntimeConfig serves RuntimeService.RuntimeConfig: Berth drives
// cgroupfs.
func (r *runtimeService) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: runtimeapi.CgroupDriver_CGROUPFS}}, nil
}

// UpdateRuntimeConfig serves RuntimeService.UpdateRuntimeConfig: the pod
// CIDR is kept (and shown by a verbose Status); pods take their
// addresses from the pod network's own subnet.
func (r *runtimeService) UpdateRuntimeConfig(_ context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	for c := range strings.SplitSeq(cidr, ",") {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(c)); cidr != "" && err != nil {
			return nil, fmt.Errorf("%w: pod CIDR %q: %v", errdefs.ErrInvalidArgument, cidr, err)
		}
	}
	r.s.mu.Lock()
	r.s.podCIDR = cidr
	r.s.mu.Unlock()
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}
