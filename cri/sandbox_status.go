package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/engine"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStatus serves RuntimeService.PodSandboxStatus.
func (r *runtimeService) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := r.s.sandbox(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	st, meta, err := sandboxStatus(sb)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st}
	if req.GetVerbose() {
		b, err := json.Marshal(map[string]any{"pid": sb.Status.Pid, "runtimeHandler": meta.Handler, "network": sb.Status.Network,
			"image": sb.Image})
		if err != nil {
			return nil, fmt.Errorf("encode sandbox info: %w", err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// sandboxStatus describes a sandbox's record.
func sandboxStatus(sb engine.Container) (*runtimeapi.PodSandboxStatus, sandboxMeta, error) {
	var meta sandboxMeta
	if err := decodeMeta(sb, &meta); err != nil {
		return nil, meta, err
	}
	st := &runtimeapi.PodSandboxStatus{
		Id:             sb.ID,
		Metadata:       &runtimeapi.PodSandboxMetadata{Name: meta.Name, Uid: meta.UID, Namespace: meta.Namespace, Attempt: meta.Attempt},
		State:          sandboxState(sb),
		CreatedAt:      sb.CreatedAt.UnixNano(),
		Network:        &runtimeapi.PodSandboxNetworkStatus{},
		Labels:         criLabels(sb.Labels),
		Annotations:    meta.Annotations,
		RuntimeHandler: meta.Handler,
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
			Network: nsMode(meta.HostNetwork), Pid: nsMode(meta.HostPID), Ipc: nsMode(meta.HostIPC),
			UsernsOptions: userNSStatus(meta),
		}}},
	}
	if n := sb.Status.Network; n != nil && st.State == runtimeapi.PodSandboxState_SANDBOX_READY {
		for i, ip := range n.IPs {
			ip, _, _ = strings.Cut(ip, "/")
			if i == 0 {
				st.Network.Ip = ip
			} else {
				st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
			}
		}
	}
	return st, meta, nil
}

func nsMode(host bool) runtimeapi.NamespaceMode {
	if host {
		return runtimeapi.NamespaceMode_NODE
	}
	return runtimeapi.NamespaceMode_POD
}

// sandboxState is ready while the pause process runs.
func sandboxState(sb engine.Container) runtimeapi.PodSandboxState {
	if sb.Status.State == engine.StateRunning || sb.Status.State == engine.StatePaused {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// ListPodSandbox serves RuntimeService.ListPodSandbox with its filter
// (ID or ID prefix, state, labels).
func (r *runtimeService) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	sbs, err := r.s.list(ctx, kindSandbox)
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	var out []*runtimeapi.PodSandbox
	for _, sb := range sbs {
		st, _, err := sandboxStatus(sb)
		if err != nil {
			r.s.log.Warn("skip a sandbox", "id", sb.ID, "err", err)
			continue
		}
		if !matchID(sb.ID, f.GetId()) || f.GetState() != nil && f.GetState().GetState() != st.State || !matchLabels(st.Labels, f.GetLabelSelector()) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{
			Id: st.Id, Metadata: st.Metadata, State: st.State, CreatedAt: st.CreatedAt,
			Labels: st.Labels, Annotations: st.Annotations, RuntimeHandler: st.RuntimeHandler,
		})
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

// sandboxImageName is the image a sandbox runs: berth-pause when it runs
// no image.
func sandboxImageName(sb engine.Container) string {
	if sb.Image == "" {
		return "berth-pause"
	}
	return sb.Image
}
