package cri_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodStatsAndMetrics: a running pod's stats give its pod cgroup's
// CPU, memory and processes (a process put in the pod cgroup itself
// counts), show its namespace's eth0 and
// its container's stats; its metrics carry cAdvisor's names with as
// many label values as their descriptors have keys; a stopped pod has
// its attributes alone and no metrics.
func TestPodStatsAndMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("st", filepath.Join(e.dir, "pods", "st"))
	pod := e.runPod(ctx, pc)
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: e.ctrConfig("c", "exec sleep 1000")})
	if err != nil {
		t.Fatal(err)
	}
	ctr := cr.ContainerId
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatal(err)
	}

	r, err := e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Stats
	l := st.GetLinux()
	if st.Attributes.GetId() != pod || st.Attributes.Metadata.GetName() != "st" || st.Attributes.Labels["app"] != "st" ||
		l.GetCpu().GetUsageCoreNanoSeconds().GetValue() == 0 || l.GetMemory().GetWorkingSetBytes().GetValue() == 0 ||
		l.GetProcess().GetProcessCount().GetValue() < 2 || l.GetNetwork().GetDefaultInterface().GetName() != "eth0" ||
		len(l.GetContainers()) != 1 || l.Containers[0].Attributes.GetId() != ctr || l.Containers[0].GetMemory().GetWorkingSetBytes().GetValue() == 0 {
		t.Errorf("PodSandboxStats: %v", st)
	}
	if n := l.GetProcess().GetProcessCount().GetValue(); n != 2 {
		t.Errorf("pod process count %d, want 2 (pause and sleep)", n)
	}
	podCgroupCountsWholePod(t, e, pod)
	list, err := e.rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{Id: pod[:12], LabelSelector: map[string]string{"app": "st"}}})
	if err != nil || len(list.Stats) != 1 || list.Stats[0].Attributes.GetId() != pod {
		t.Errorf("ListPodSandboxStats: %v, %v", list, err)
	}
	list, err = e.rt.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"app": "other"}}})
	if err != nil || len(list.Stats) != 0 {
		t.Errorf("ListPodSandboxStats of another label: %v, %v", list, err)
	}
	e.checkMetrics(pod, ctr)

	if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	r, err = e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod})
	if err != nil || r.Stats.Attributes.GetId() != pod || r.Stats.Linux.GetCpu() != nil || len(r.Stats.Linux.GetContainers()) != 1 {
		t.Errorf("PodSandboxStats of a stopped pod: %v, %v", r, err)
	}
	m, err := e.rt.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(m.PodMetrics) != 0 {
		t.Errorf("ListPodSandboxMetrics with the pod stopped: %v, %v", m, err)
	}
	if _, err := e.rt.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: "nope"}); err == nil {
		t.Errorf("PodSandboxStats of an unknown pod answers")
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}

// checkMetrics checks the descriptors and the running pod's metrics.
func (e *env) checkMetrics(pod, ctr string) {
	t := e.t
	t.Helper()
	ctx := e.ctx()
	d, err := e.rt.ListMetricDescriptors(ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, m := range d.Descriptors {
		if m.Help == "" || len(m.LabelKeys) == 0 {
			t.Errorf("descriptor %v has no help or labels", m)
		}
		keys[m.Name] = len(m.LabelKeys)
	}
	for _, n := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_network_receive_bytes_total", "container_processes", "container_fs_usage_bytes"} {
		if _, ok := keys[n]; !ok {
			t.Errorf("no descriptor %s", n)
		}
	}
	r, err := e.rt.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(r.PodMetrics) != 1 || r.PodMetrics[0].PodSandboxId != pod || len(r.PodMetrics[0].ContainerMetrics) != 1 ||
		r.PodMetrics[0].ContainerMetrics[0].ContainerId != ctr {
		t.Fatalf("ListPodSandboxMetrics: %v, %v", r, err)
	}
	pm := r.PodMetrics[0]
	all := slices.Concat(pm.Metrics, pm.ContainerMetrics[0].Metrics)
	seen := map[string]uint64{}
	for _, m := range all {
		if n, ok := keys[m.Name]; !ok || len(m.LabelValues) != n {
			t.Errorf("metric %v: %d label values, its descriptor %d keys (known: %v)", m, len(m.LabelValues), n, ok)
		}
		if m.Name == "container_network_receive_bytes_total" && m.LabelValues[len(m.LabelValues)-1] != "eth0" {
			t.Errorf("network metric of %v, want eth0", m.LabelValues)
		}
		seen[m.Name] += m.Value.GetValue()
	}
	for _, n := range []string{"container_memory_working_set_bytes", "container_processes", "container_threads", "container_network_receive_bytes_total", "container_spec_cpu_shares", "container_start_time_seconds", "container_fs_inodes_total"} {
		if seen[n] == 0 {
			t.Errorf("metric %s is 0 or missing", n)
		}
	}
}

// podCgroupCountsWholePod puts a host process into a cgroup of its own
// below the pod cgroup (the parent of the pause's cgroup: cgroup v2
// allows no process in a cgroup whose children have controllers), in
// the hierarchies stats read, and checks that the pod's process count
// takes it in: the stats come from the pod cgroup, not from a sum over
// the pod's containers. The process is killed by PID and its cgroups
// removed by path before returning.
func podCgroupCountsWholePod(t *testing.T, e *env, pod string) {
	t.Helper()
	pause := e.podPid(t, pod)
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var made []string
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for _, d := range made {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove the test's cgroup: %v", err)
			}
		}
	}()
	name := "berth-test-podstats-" + strconv.Itoa(cmd.Process.Pid)
	for _, ctrl := range []string{"pids", "memory", "cpuacct", "cpu", ""} {
		dir := cgroupDir(t, pause, ctrl)
		if dir == "" {
			continue
		}
		sub := filepath.Join(filepath.Dir(dir), name)
		if slices.Contains(made, sub) {
			continue // cpu and cpuacct share a hierarchy
		}
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, sub)
		if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatalf("move a process into the pod cgroup: %v", err)
		}
	}
	r, err := e.rt.PodSandboxStats(e.ctx(), &runtimeapi.PodSandboxStatsRequest{PodSandboxId: pod})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Stats.GetLinux().GetProcess().GetProcessCount().GetValue(); n != 3 {
		t.Errorf("pod process count with a process in the pod cgroup %d, want 3", n)
	}
}
