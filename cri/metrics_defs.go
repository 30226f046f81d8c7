package cri

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// baseLabels label every metric: the container's (or, for the pod's
// network, the sandbox's) ID, name and image.
var baseLabels = []string{"id", "name", "image"}

// metricValue is one series of a metric: its labels beyond baseLabels
// and its value.
type metricValue struct {
	labels []string
	value  uint64
}

// containerMetric is a cAdvisor metric read from a container's usage.
type containerMetric struct {
	name, help string
	typ        runtimeapi.MetricType
	labels     []string
	values     func(u *engine.Usage, now time.Time) []metricValue
}

// podMetric is a cAdvisor network metric of one of the pod namespace's
// interfaces (label "interface").
type podMetric struct {
	name, help string
	value      func(netIface) uint64
}

const (
	counter = runtimeapi.MetricType_COUNTER
	gauge   = runtimeapi.MetricType_GAUGE
)

// one is a metric of a single series.
func one(f func(u *engine.Usage) uint64) func(*engine.Usage, time.Time) []metricValue {
	return func(u *engine.Usage, _ time.Time) []metricValue { return []metricValue{{value: f(u)}} }
}

// onFS is a metric of the filesystem under the writable layer (label
// "device", the rootfs).
func onFS(f func(u *engine.Usage) uint64) func(*engine.Usage, time.Time) []metricValue {
	return func(u *engine.Usage, _ time.Time) []metricValue {
		return []metricValue{{labels: []string{"rootfs"}, value: f(u)}}
	}
}

var containerMetrics = []containerMetric{
	{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", counter, nil, one(func(u *engine.Usage) uint64 { return seconds(u.Stats.CPU.Usage.Total) })},
	{"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", counter, nil, one(func(u *engine.Usage) uint64 { return seconds(u.Stats.CPU.Usage.User) })},
	{"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", counter, nil, one(func(u *engine.Usage) uint64 { return seconds(u.Stats.CPU.Usage.Kernel) })},
	{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", counter, nil, one(func(u *engine.Usage) uint64 { return u.Stats.CPU.Throttling.Periods })},
	{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", counter, nil, one(func(u *engine.Usage) uint64 { return u.Stats.CPU.Throttling.ThrottledPeriods })},
	{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", counter, nil, one(func(u *engine.Usage) uint64 { return seconds(u.Stats.CPU.Throttling.ThrottledTime) })},
	{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Usage.Usage })},
	{"container_memory_working_set_bytes", "Current working set in bytes.", gauge, nil, one(workingSet)},
	{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Usage.Max })},
	{"container_memory_cache", "Number of bytes of page cache memory.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Cache })},
	{"container_memory_rss", "Size of RSS in bytes.", gauge, nil, one(func(u *engine.Usage) uint64 { return memRaw(u, "rss") })},
	{"container_memory_mapped_file", "Size of memory mapped files in bytes.", gauge, nil, one(func(u *engine.Usage) uint64 { return memRaw(u, "mapped_file") })},
	{"container_memory_swap", "Container swap usage in bytes.", gauge, nil, one(func(u *engine.Usage) uint64 { return memRaw(u, "swap") })},
	{"container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Kernel.Usage })},
	{"container_memory_failcnt", "Number of memory usage hits limits.", counter, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Usage.Failcnt })},
	{"container_memory_failures_total", "Cumulative count of memory allocation failures.", counter, []string{"failure_type", "scope"}, memoryFailures},
	{"container_oom_events_total", "Count of out of memory events observed for the container.", counter, nil, one(func(u *engine.Usage) uint64 { return u.OOMKills })},
	{"container_spec_cpu_period", "CPU period of the container.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.CPUPeriod })},
	{"container_spec_cpu_shares", "CPU share of the container.", gauge, nil, one(cpuShares)},
	{"container_spec_memory_limit_bytes", "Memory limit for the container.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Usage.Limit })},
	{"container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Memory.Swap.Limit })},
	{"container_processes", "Number of processes running inside the container.", gauge, nil, one(func(u *engine.Usage) uint64 { return uint64(len(u.Pids)) })},
	{"container_threads", "Number of threads running inside the container.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Pids.Current })},
	{"container_threads_max", "Maximum number of threads allowed inside the container, 0 if unlimited.", gauge, nil, one(func(u *engine.Usage) uint64 { return u.Stats.Pids.Limit })},
	{"container_file_descriptors", "Number of open file descriptors for the container.", gauge, nil, one(func(u *engine.Usage) uint64 { fds, _ := openFiles(u.Pids); return fds })},
	{"container_sockets", "Number of open sockets for the container.", gauge, nil, one(func(u *engine.Usage) uint64 { _, socks := openFiles(u.Pids); return socks })},
	{"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", gauge, nil, one(func(u *engine.Usage) uint64 { return uint64(max(u.Container.Status.StartedAt.Unix(), 0)) })},
	{"container_last_seen", "Last time a container was seen by the exporter.", gauge, nil, func(_ *engine.Usage, now time.Time) []metricValue { return []metricValue{{value: uint64(now.Unix())}} }},
	{"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", gauge, []string{"device"}, onFS(func(u *engine.Usage) uint64 { return u.LayerBytes })},
	{"container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", gauge, []string{"device"}, onFS(func(u *engine.Usage) uint64 { return u.FS.Blocks * uint64(u.FS.Bsize) })},
	{"container_fs_inodes_total", "Number of Inodes.", gauge, []string{"device"}, onFS(func(u *engine.Usage) uint64 { return u.FS.Files })},
	{"container_fs_inodes_free", "Number of available Inodes.", gauge, []string{"device"}, onFS(func(u *engine.Usage) uint64 { return u.FS.Ffree })},
	{"container_fs_reads_bytes_total", "Cumulative count of bytes read.", counter, []string{"device"}, blkio(true, "read")},
	{"container_fs_writes_bytes_total", "Cumulative count of bytes written.", counter, []string{"device"}, blkio(true, "write")},
	{"container_fs_reads_total", "Cumulative count of reads completed.", counter, []string{"device"}, blkio(false, "read")},
	{"container_fs_writes_total", "Cumulative count of writes completed.", counter, []string{"device"}, blkio(false, "write")},
	{"container_blkio_device_usage_total", "Blkio device bytes usage.", counter, []string{"device", "major", "minor", "operation"}, blkioDevices},
}

var podMetrics = []podMetric{
	{"container_network_receive_bytes_total", "Cumulative count of bytes received.", func(i netIface) uint64 { return i.rxBytes }},
	{"container_network_receive_packets_total", "Cumulative count of packets received.", func(i netIface) uint64 { return i.rxPackets }},
	{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving.", func(i netIface) uint64 { return i.rxErrors }},
	{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving.", func(i netIface) uint64 { return i.rxDrops }},
	{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", func(i netIface) uint64 { return i.txBytes }},
	{"container_network_transmit_packets_total", "Cumulative count of packets transmitted.", func(i netIface) uint64 { return i.txPackets }},
	{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting.", func(i netIface) uint64 { return i.txErrors }},
	{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting.", func(i netIface) uint64 { return i.txDrops }},
}

// memoryFailures are the page faults, minor and major, of the container
// alone and of its hierarchy.
func memoryFailures(u *engine.Usage, _ time.Time) []metricValue {
	var out []metricValue
	for _, f := range []struct{ typ, key string }{{"pgfault", "pgfault"}, {"pgmajfault", "pgmajfault"}} {
		out = append(out, metricValue{labels: []string{f.typ, "container"}, value: u.Stats.Memory.Raw[f.key]})
		out = append(out, metricValue{labels: []string{f.typ, "hierarchy"}, value: memRaw(u, f.key)})
	}
	return out
}

// cpuShares is the container's CPU weight: its configured shares, else
// the kernel's default.
func cpuShares(u *engine.Usage) uint64 {
	if cfg, err := engine.ContainerConfig(u.Container); err == nil && cfg.Resources.CPUShares > 0 {
		return cfg.Resources.CPUShares
	}
	return 1024
}

// blkio is the per-device bytes (or operations) of one kind, from the
// blkio counters.
func blkio(bytes bool, op string) func(*engine.Usage, time.Time) []metricValue {
	return func(u *engine.Usage, _ time.Time) []metricValue {
		entries := u.Stats.Blkio.IoServicedRecursive
		if bytes {
			entries = u.Stats.Blkio.IoServiceBytesRecursive
		}
		var out []metricValue
		for _, e := range entries {
			if strings.EqualFold(e.Op, op) {
				out = append(out, metricValue{labels: []string{fmt.Sprintf("%d:%d", e.Major, e.Minor)}, value: e.Value})
			}
		}
		return out
	}
}

// blkioDevices is every per-device, per-operation byte counter.
func blkioDevices(u *engine.Usage, _ time.Time) []metricValue {
	var out []metricValue
	for _, e := range u.Stats.Blkio.IoServiceBytesRecursive {
		maj, mnr := strconv.FormatUint(e.Major, 10), strconv.FormatUint(e.Minor, 10)
		out = append(out, metricValue{labels: []string{maj + ":" + mnr, maj, mnr, e.Op}, value: e.Value})
	}
	return out
}

// openFiles counts the open file descriptors of pids and those of them
// that are sockets; processes gone meanwhile count none.
func openFiles(pids []int) (fds, sockets uint64) {
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			fds++
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
				sockets++
			}
		}
	}
	return fds, sockets
}
