package cri

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStats serves RuntimeService.PodSandboxStats: the pod's CPU,
// memory and process count read from its pod cgroup (the sandbox's
// parent, which holds the pause's and every container's cgroup), its
// namespace's network interfaces, and each container's stats.
func (r *runtimeService) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := r.s.sandbox(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	ctrs, err := r.s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	st, err := r.s.podStats(ctx, sb, ctrs)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: st}, nil
}

// ListPodSandboxStats serves RuntimeService.ListPodSandboxStats with its
// filter (ID or prefix, labels).
func (r *runtimeService) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	sbs, err := r.s.list(ctx, kindSandbox)
	if err != nil {
		return nil, err
	}
	ctrs, err := r.s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	f := req.GetFilter()
	var out []*runtimeapi.PodSandboxStats
	for _, sb := range sbs {
		if !matchID(sb.ID, f.GetId()) || !matchLabels(criLabels(sb.Labels), f.GetLabelSelector()) {
			continue
		}
		st, err := r.s.podStats(ctx, sb, ctrs)
		if errors.Is(err, errdefs.ErrDataLoss) {
			r.s.log.Warn("skip a sandbox", "id", sb.ID, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: out}, nil
}

// podStats samples a pod; one that does not run has only its
// attributes and its containers' attributes.
func (s *Server) podStats(ctx context.Context, sb engine.Container, ctrs []engine.Container) (*runtimeapi.PodSandboxStats, error) {
	p, err := s.samplePod(ctx, sb, ctrs)
	if err != nil {
		return nil, err
	}
	st := &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: p.meta.Name, Uid: p.meta.UID, Namespace: p.meta.Namespace, Attempt: p.meta.Attempt},
			Labels:   criLabels(sb.Labels), Annotations: p.meta.Annotations},
		Linux: &runtimeapi.LinuxPodSandboxStats{},
	}
	for _, c := range p.ctrs {
		cs, err := s.stats(ctx, c.c)
		if errors.Is(err, errdefs.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		st.Linux.Containers = append(st.Linux.Containers, cs)
	}
	if p.pause == nil {
		return st, nil
	}
	ts := p.at.UnixNano()
	// The pod cgroup's counters cover the whole pod, overhead included;
	// without one, the sum over its running containers.
	from := p.running()
	if p.pod != nil {
		from = []*engine.Usage{p.pod}
	}
	var cpu, mem, ws, rss, procs uint64
	for _, u := range from {
		cpu += u.Stats.CPU.Usage.Total
		mem += u.Stats.Memory.Usage.Usage
		ws += workingSet(u)
		rss += memRaw(u, "rss")
		procs += uint64(len(u.Pids))
	}
	st.Linux.Cpu = &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: cpu}}
	st.Linux.Memory = &runtimeapi.MemoryUsage{Timestamp: ts, UsageBytes: &runtimeapi.UInt64Value{Value: mem},
		WorkingSetBytes: &runtimeapi.UInt64Value{Value: ws}, RssBytes: &runtimeapi.UInt64Value{Value: rss}}
	st.Linux.Process = &runtimeapi.ProcessUsage{Timestamp: ts, ProcessCount: &runtimeapi.UInt64Value{Value: procs}}
	if len(p.ifaces) > 0 {
		n := &runtimeapi.NetworkUsage{Timestamp: ts}
		for _, i := range p.ifaces {
			n.Interfaces = append(n.Interfaces, &runtimeapi.NetworkInterfaceUsage{Name: i.name,
				RxBytes: &runtimeapi.UInt64Value{Value: i.rxBytes}, RxErrors: &runtimeapi.UInt64Value{Value: i.rxErrors},
				TxBytes: &runtimeapi.UInt64Value{Value: i.txBytes}, TxErrors: &runtimeapi.UInt64Value{Value: i.txErrors}})
		}
		n.DefaultInterface = n.Interfaces[0]
		for _, i := range n.Interfaces {
			if i.Name == "eth0" {
				n.DefaultInterface = i
			}
		}
		st.Linux.Network = n
	}
	return st, nil
}

// workingSet is the memory in use less the inactive page cache, as the
// kubelet and cAdvisor count it.
func workingSet(u *engine.Usage) uint64 {
	use := u.Stats.Memory.Usage.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := u.Stats.Memory.Raw[k]; ok {
			if v > use {
				return 0
			}
			return use - v
		}
	}
	return use
}

// memRaw is a memory.stat counter: the hierarchical (cgroup v1
// "total_") one when there is one.
func memRaw(u *engine.Usage, key string) uint64 {
	if v, ok := u.Stats.Memory.Raw["total_"+key]; ok {
		return v
	}
	return u.Stats.Memory.Raw[key]
}
