package daemon

import (
	"context"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// containerLabels label every per-container series.
var containerLabels = []string{"id", "name", "namespace", "image"}

func containerDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("berth_container_"+name, help, containerLabels, nil)
}

// containerMetric is one per-container series and how a sample gives it.
type containerMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(engine.StatsSample) float64
}

var containerMetrics = []containerMetric{
	{containerDesc("cpu_usage_seconds_total", "CPU time the container's processes used."), prometheus.CounterValue,
		func(s engine.StatsSample) float64 { return float64(s.CPUTotal) / 1e9 }},
	{containerDesc("memory_usage_bytes", "Memory the container uses, inactive page cache excluded."), prometheus.GaugeValue,
		func(s engine.StatsSample) float64 { return float64(s.MemoryUsage) }},
	{containerDesc("memory_limit_bytes", "The container's memory limit (the host's memory when it has none)."), prometheus.GaugeValue,
		func(s engine.StatsSample) float64 { return float64(s.MemoryLimit) }},
	{containerDesc("pids", "Processes and threads in the container."), prometheus.GaugeValue,
		func(s engine.StatsSample) float64 { return float64(s.Pids) }},
	{containerDesc("blkio_read_bytes_total", "Bytes the container read from block devices."), prometheus.CounterValue,
		func(s engine.StatsSample) float64 { return float64(s.BlockRead) }},
	{containerDesc("blkio_write_bytes_total", "Bytes the container wrote to block devices."), prometheus.CounterValue,
		func(s engine.StatsSample) float64 { return float64(s.BlockWrite) }},
	{containerDesc("network_receive_bytes_total", "Bytes received on the container's interfaces but lo."), prometheus.CounterValue,
		func(s engine.StatsSample) float64 { return float64(s.NetRx) }},
	{containerDesc("network_transmit_bytes_total", "Bytes sent on the container's interfaces but lo."), prometheus.CounterValue,
		func(s engine.StatsSample) float64 { return float64(s.NetTx) }},
}

// containerCollector samples every running container at scrape time,
// from its cgroup files.
type containerCollector struct{ e *engine.Engine }

// Describe sends the per-container descriptors.
func (c containerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range containerMetrics {
		ch <- m.desc
	}
}

// Collect sends one series per metric and running container.
func (c containerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range c.e.RunningStats(ctx) {
		for _, m := range containerMetrics {
			ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(s), s.ID, s.Name, s.Namespace, s.Image)
		}
	}
}
