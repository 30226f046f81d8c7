package cri_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podConfig is a pod sandbox config named name, logging under logDir.
func podConfig(name, logDir string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Uid: name + "-uid", Namespace: "default"},
		Hostname:     name + "-host",
		LogDirectory: logDir,
		DnsConfig:    &runtimeapi.DNSConfig{Servers: []string{"127.0.0.53"}, Searches: []string{"pods.test"}},
		Labels:       map[string]string{"app": name},
		Annotations:  map[string]string{"note": "kept"},
	}
}

// pull pulls the env's busybox.
func (e *env) pull(ctx context.Context) {
	e.t.Helper()
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.ref}}); err != nil {
		e.t.Fatal(err)
	}
}

// runPod starts a pod sandbox and returns its ID.
func (e *env) runPod(ctx context.Context, pc *runtimeapi.PodSandboxConfig) string {
	e.t.Helper()
	r, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err != nil {
		e.t.Fatalf("RunPodSandbox: %v", err)
	}
	return r.PodSandboxId
}

// ctrConfig is a busybox container config running args under sh -c.
func (e *env) ctrConfig(name, script string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: e.ref},
		Command:  []string{"sh", "-c"},
		Args:     []string{script},
		Envs:     []*runtimeapi.KeyValue{{Key: "GREETING", Value: []byte("hello")}},
		LogPath:  name + ".log",
		Labels:   map[string]string{"role": name},
	}
}

// TestPodLifecycle: a pod with an address, hostname and DNS; a container
// in it that logs in the CRI format, answers ExecSync in the pod's
// namespaces, reports status and stats, and stops; stop and remove are
// idempotent and leave nothing.
func TestPodLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	logDir := filepath.Join(e.dir, "pods", "p1")
	pc := podConfig("p1", logDir)
	pod := e.runPod(ctx, pc)

	ps, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY || net.ParseIP(ps.Status.Network.GetIp()) == nil ||
		ps.Status.Metadata.Name != "p1" || ps.Status.Labels["app"] != "p1" || ps.Status.Annotations["note"] != "kept" || ps.Info["info"] == "" {
		t.Fatalf("PodSandboxStatus: %v", ps)
	}
	for _, k := range []string{"io.berth.cri.kind", "io.berth.cri.meta"} {
		if _, ok := ps.Status.Labels[k]; ok {
			t.Errorf("Berth's own label %s is shown", k)
		}
	}
	pods, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "p1"}}})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Id != pod {
		t.Errorf("ListPodSandbox by label: %v, %v", pods, err)
	}
	pods, err = e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"app": "other"}}})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("ListPodSandbox by another label: %v, %v", pods, err)
	}

	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc,
		Config: e.ctrConfig("web", "echo $GREETING; exec sleep 1000")})
	if err != nil {
		t.Fatal(err)
	}
	ctr := cr.ContainerId
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatal(err)
	}
	e.checkExec(ctx, ctr, ps.Status.Network.Ip)
	e.checkRunning(ctx, pod, ctr, logDir)

	if _, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: ctr,
		Linux: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20}}); err != nil {
		t.Errorf("UpdateContainerResources: %v", err)
	}
	for range 2 {
		if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1}); err != nil {
			t.Fatalf("StopContainer: %v", err)
		}
	}
	cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
	if err != nil || cs.Status.State != runtimeapi.ContainerState_CONTAINER_EXITED || cs.Status.FinishedAt == 0 || cs.Status.ExitCode == 0 {
		t.Errorf("ContainerStatus after stop: %v, %v", cs, err)
	}
	for range 2 {
		if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
			t.Fatalf("StopPodSandbox: %v", err)
		}
	}
	ps, err = e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("PodSandboxStatus after stop: %v, %v", ps, err)
	}
	_, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: e.ctrConfig("late", "true")})
	wantCode(t, "CreateContainer in a stopped sandbox", err, codes.FailedPrecondition, "not ready")
	for range 2 {
		if _, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: ctr}); err != nil {
			t.Errorf("RemoveContainer: %v", err)
		}
		if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
			t.Errorf("RemovePodSandbox: %v", err)
		}
	}
	if _, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod}); err == nil {
		t.Errorf("PodSandboxStatus of a removed pod answers")
	}
	e.nothingLeft()
}

// checkExec runs commands in the container: the pod's hostname, DNS
// config, address and environment are there; exit codes come back; a
// command past its timeout is killed.
func (e *env) checkExec(ctx context.Context, ctr, ip string) {
	t := e.t
	t.Helper()
	for _, c := range []struct {
		cmd  string
		want string
		code int32
	}{
		{"hostname", "p1-host", 0},
		{"cat /etc/resolv.conf", "nameserver 127.0.0.53", 0},
		{"cat /etc/resolv.conf", "search pods.test", 0},
		{"ip addr 2>/dev/null || cat /proc/net/fib_trie", ip, 0},
		{"echo $GREETING", "hello", 0},
		{"exit 3", "", 3},
	} {
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", c.cmd}, Timeout: 30})
		if err != nil || r.ExitCode != c.code || !strings.Contains(string(r.Stdout), c.want) {
			t.Errorf("ExecSync %q: %v, %v; want exit %d and %q", c.cmd, r, err, c.code, c.want)
		}
	}
	start := time.Now()
	_, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sleep", "30"}, Timeout: 1})
	wantCode(t, "ExecSync past its timeout", err, codes.DeadlineExceeded, "timed out")
	if time.Since(start) > 20*time.Second {
		t.Errorf("ExecSync with a 1 s timeout returned after %s", time.Since(start))
	}
	// ps must list this shell (it works) and no sleep 30.
	ps := `ps=$(busybox ps -o args); echo "$ps" | busybox grep -q '^sh -c' && ! echo "$ps" | busybox grep '^sleep 30'`
	r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", ps}, Timeout: 30})
	if err != nil || r.ExitCode != 0 {
		t.Errorf("the process of a timed out ExecSync still runs: %v, %v", r, err)
	}
}

// checkRunning checks the running container's status, list entry,
// stats and log file.
func (e *env) checkRunning(ctx context.Context, pod, ctr, logDir string) {
	t := e.t
	t.Helper()
	cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := cs.Status; st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 || st.Image.Image != e.ref ||
		!strings.HasPrefix(st.ImageRef, "sha256:") || st.LogPath != filepath.Join(logDir, "web.log") || st.Metadata.Name != "web" || st.Labels["role"] != "web" {
		t.Errorf("ContainerStatus: %v", st)
	}
	list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: pod,
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].Id != ctr || list.Containers[0].PodSandboxId != pod {
		t.Errorf("ListContainers: %v, %v", list, err)
	}
	list, err = e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_EXITED}}})
	if err != nil || len(list.Containers) != 0 {
		t.Errorf("ListContainers of exited ones: %v, %v", list, err)
	}
	st, err := e.rt.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: ctr})
	if err != nil || st.Stats.GetMemory().GetWorkingSetBytes().GetValue() == 0 || st.Stats.GetCpu() == nil {
		t.Errorf("ContainerStats: %v, %v", st, err)
	}
	all, err := e.rt.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil || len(all.Stats) != 1 {
		t.Errorf("ListContainerStats: %v, %v", all, err)
	}
	b, err := os.ReadFile(filepath.Join(logDir, "web.log"))
	if err != nil || !strings.Contains(string(b), " stdout F hello\n") {
		t.Errorf("the CRI log: %q, %v; want a line ' stdout F hello'", b, err)
	}
}
