package cri

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/shim"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStatus serves RuntimeService.ContainerStatus.
func (r *runtimeService) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := r.s.container(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	st, err := containerStatus(c)
	if err != nil {
		return nil, err
	}
	if u, err := r.s.cfg.Engine.ContainerUser(ctx, Namespace, c.ID); err == nil {
		st.User = containerUser(u)
	} else {
		r.s.log.Warn("the user of a container", "id", c.ID, "err", err)
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.GetVerbose() {
		b, err := json.Marshal(map[string]any{"pid": c.Status.Pid, "sandboxID": c.Labels[labelSandbox], "runtime": c.Runtime, "command": c.Command})
		if err != nil {
			return nil, fmt.Errorf("encode container info: %w", err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// containerStatus describes a CRI container's record.
func containerStatus(c engine.Container) (*runtimeapi.ContainerStatus, error) {
	var meta containerMeta
	if err := decodeMeta(c, &meta); err != nil {
		return nil, err
	}
	st := &runtimeapi.ContainerStatus{
		Id:          c.ID,
		Metadata:    &runtimeapi.ContainerMetadata{Name: meta.Name, Attempt: meta.Attempt},
		State:       containerState(c),
		CreatedAt:   c.CreatedAt.UnixNano(),
		Image:       &runtimeapi.ImageSpec{Image: meta.Image},
		ImageRef:    c.ImageID,
		ImageId:     c.ImageID,
		Labels:      criLabels(c.Labels),
		Annotations: meta.Annotations,
		LogPath:     meta.LogPath,
	}
	if !c.Status.StartedAt.IsZero() {
		st.StartedAt = c.Status.StartedAt.UnixNano()
	}
	if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		if !c.Status.FinishedAt.IsZero() {
			st.FinishedAt = c.Status.FinishedAt.UnixNano()
		}
		st.ExitCode = int32(c.Status.ExitCode)
		st.Reason, st.Message = "Completed", c.Status.Reason
		if c.Status.ExitCode != 0 || c.Status.Reason != shim.ReasonExited && c.Status.Reason != "" {
			st.Reason = "Error"
		}
		if c.Status.OOMKilled {
			st.Reason = "OOMKilled"
		}
	}
	for _, m := range meta.Mounts {
		cm := &runtimeapi.Mount{ContainerPath: m.ContainerPath, HostPath: m.HostPath, Readonly: m.Readonly,
			Propagation: runtimeapi.MountPropagation(m.Propagation), ImageSubPath: m.ImageSubPath, SelinuxRelabel: m.SelinuxRelabel,
			RecursiveReadOnly: m.RecursiveReadOnly}
		if m.Image != "" {
			cm.Image = &runtimeapi.ImageSpec{Image: m.Image, ImageRef: m.ImageRef}
		}
		st.Mounts = append(st.Mounts, cm)
	}
	return st, nil
}

// containerUser is the CRI's view of the identity a process runs as.
func containerUser(u specs.User) *runtimeapi.ContainerUser {
	lu := &runtimeapi.LinuxContainerUser{Uid: int64(u.UID), Gid: int64(u.GID)}
	for _, g := range u.AdditionalGids {
		lu.SupplementalGroups = append(lu.SupplementalGroups, int64(g))
	}
	return &runtimeapi.ContainerUser{Linux: lu}
}

// containerState maps the engine's states to the CRI's.
func containerState(c engine.Container) runtimeapi.ContainerState {
	switch c.Status.State {
	case engine.StateCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case engine.StateRunning, engine.StatePaused:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case engine.StateExited:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

// ListContainers serves RuntimeService.ListContainers with its filter
// (ID or prefix, state, sandbox, labels).
func (r *runtimeService) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	ctrs, err := r.s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	var out []*runtimeapi.Container
	for _, c := range ctrs {
		st, err := containerStatus(c)
		if err != nil {
			r.s.log.Warn("skip a container", "id", c.ID, "err", err)
			continue
		}
		sandbox := c.Labels[labelSandbox]
		if !matchID(c.ID, f.GetId()) || !matchID(sandbox, f.GetPodSandboxId()) ||
			f.GetState() != nil && f.GetState().GetState() != st.State || !matchLabels(st.Labels, f.GetLabelSelector()) {
			continue
		}
		out = append(out, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: sandbox, Metadata: st.Metadata, Image: st.Image, ImageRef: st.ImageRef, ImageId: st.ImageId,
			State: st.State, CreatedAt: st.CreatedAt, Labels: st.Labels, Annotations: st.Annotations,
		})
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}
