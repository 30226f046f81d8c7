package cri

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/errdefs"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListMetricDescriptors serves RuntimeService.ListMetricDescriptors:
// the cAdvisor metrics ListPodSandboxMetrics reports, with their help
// and label keys.
func (r *runtimeService) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	out := make([]*runtimeapi.MetricDescriptor, 0, len(containerMetrics)+len(podMetrics))
	for _, d := range containerMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{Name: d.name, Help: d.help, LabelKeys: append(baseLabels[:len(baseLabels):len(baseLabels)], d.labels...)})
	}
	for _, d := range podMetrics {
		out = append(out, &runtimeapi.MetricDescriptor{Name: d.name, Help: d.help, LabelKeys: append(baseLabels[:len(baseLabels):len(baseLabels)], "interface")})
	}
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: out}, nil
}

// ListPodSandboxMetrics serves RuntimeService.ListPodSandboxMetrics: for
// every ready pod, the network metrics of its namespace's interfaces
// and each running container's metrics, sampled now. Seconds are whole
// seconds: a CRI metric's value is an integer.
func (r *runtimeService) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	sbs, err := r.s.list(ctx, kindSandbox)
	if err != nil {
		return nil, err
	}
	ctrs, err := r.s.list(ctx, kindContainer)
	if err != nil {
		return nil, err
	}
	var out []*runtimeapi.PodSandboxMetrics
	for _, sb := range sbs {
		p, err := r.s.samplePod(ctx, sb, ctrs)
		if errors.Is(err, errdefs.ErrDataLoss) {
			r.s.log.Warn("skip a sandbox", "id", sb.ID, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.pause != nil {
			out = append(out, p.metrics())
		}
	}
	return &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: out}, nil
}

// metrics is a pod sample's metrics.
func (p *podSample) metrics() *runtimeapi.PodSandboxMetrics {
	ts := p.at.UnixNano()
	out := &runtimeapi.PodSandboxMetrics{PodSandboxId: p.sb.ID}
	base := []string{p.sb.ID, p.meta.Name, sandboxImageName(p.sb)}
	for _, d := range podMetrics {
		for _, i := range p.ifaces {
			out.Metrics = append(out.Metrics, &runtimeapi.Metric{Name: d.name, Timestamp: ts, MetricType: runtimeapi.MetricType_COUNTER,
				LabelValues: append(base[:len(base):len(base)], i.name), Value: &runtimeapi.UInt64Value{Value: d.value(i)}})
		}
	}
	for _, c := range p.ctrs {
		if c.u == nil {
			continue
		}
		var meta containerMeta
		if decodeMeta(c.c, &meta) != nil {
			continue
		}
		cm := &runtimeapi.ContainerMetrics{ContainerId: c.c.ID}
		base := []string{c.c.ID, meta.Name, meta.Image}
		for _, d := range containerMetrics {
			for _, v := range d.values(c.u, p.at) {
				cm.Metrics = append(cm.Metrics, &runtimeapi.Metric{Name: d.name, Timestamp: ts, MetricType: d.typ,
					LabelValues: append(base[:len(base):len(base)], v.labels...), Value: &runtimeapi.UInt64Value{Value: v.value}})
			}
		}
		out.ContainerMetrics = append(out.ContainerMetrics, cm)
	}
	return out
}

// seconds is whole seconds of nanoseconds.
func seconds(ns uint64) uint64 { return ns / uint64(time.Second) }
