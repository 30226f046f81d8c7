package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// result is the driver's report.
type result struct {
	Pods         int     `json:"pods"`
	FirstS       float64 `json:"first_running_s"`
	LastS        float64 `json:"last_running_s"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	PeakPSSMiB   float64 `json:"peak_pss_mib"`
	SettledPSS   float64 `json:"settled_pss_mib"`
	SettledProcs int     `json:"settled_processes"`
	CPUS         float64 `json:"cpu_s"`
	// SettledShims and ShimPSSPerPod are the shims' count and their PSS
	// summed and divided by the pods, in kB, in the settled sample.
	SettledShims  int     `json:"settled_shims"`
	ShimPSSPerPod float64 `json:"shim_pss_kb_per_pod"`
	// DaemonPSS is the daemon's own PSS in the settled sample.
	DaemonPSS float64 `json:"daemon_pss_mib"`
	// LaterPSS and LaterShimPSSPerPod are the settled sample's figures
	// again, -later after it (berth-shims go idle after 10 s of nothing
	// to do); zero without -later.
	LaterPSS           float64 `json:"later_pss_mib"`
	LaterShimPSSPerPod float64 `json:"later_shim_pss_kb_per_pod"`
	// StageMS is each step's mean latency over the pods, in ms:
	// RunPodSandbox, CreateContainer, StartContainer, and the polling of
	// ContainerStatus until Running.
	StageMS map[string]float64 `json:"stage_ms"`
}

// stages are startPod's steps, in order.
var stages = [...]string{"run_sandbox", "create", "start", "until_running"}

// start runs o.pods pods, o.inFlight at a time, sampling memory until
// the last container runs, and returns the measurements.
func start(ctx context.Context, rc runtimeapi.RuntimeServiceClient, o options) (*result, error) {
	cpu0, err := cpuSeconds(o.daemonPID, o.owner)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	peak := make(chan sample, 1)
	go func() { peak <- sampleUntil(o.daemonPID, o.owner, stop) }()

	t0 := time.Now()
	running := make([]time.Duration, o.pods)
	took := make([][len(stages)]time.Duration, o.pods)
	errs := make([]error, o.pods)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < o.inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs[i] = startPod(ctx, rc, o, i, &took[i])
				running[i] = time.Since(t0)
			}
		}()
	}
	for i := 0; i < o.pods; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(stop)
	p := <-peak
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("pod %d: %w", i, err)
		}
	}
	time.Sleep(o.settle)
	settled, err := measure(o.daemonPID, o.owner)
	if err != nil {
		return nil, err
	}
	cpu1, err := cpuSeconds(o.daemonPID, o.owner)
	if err != nil {
		return nil, err
	}
	stageMS := map[string]float64{}
	for _, t := range took {
		for s, d := range t {
			stageMS[stages[s]] += float64(d.Microseconds()) / 1000 / float64(o.pods)
		}
	}
	sort.Slice(running, func(a, b int) bool { return running[a] < running[b] })
	var later sample
	if o.later > 0 {
		time.Sleep(o.later)
		if later, err = measure(o.daemonPID, o.owner); err != nil {
			return nil, err
		}
	}
	return &result{
		LaterPSS: mib(later.pss), LaterShimPSSPerPod: float64(later.shimPss) / float64(o.pods),
		Pods: o.pods, FirstS: running[0].Seconds(), LastS: running[len(running)-1].Seconds(),
		PeakRSSMiB: mib(max(p.rss, settled.rss)), PeakPSSMiB: mib(max(p.pss, settled.pss)),
		SettledPSS: mib(settled.pss), SettledProcs: settled.procs, CPUS: cpu1 - cpu0,
		SettledShims: settled.shims, ShimPSSPerPod: float64(settled.shimPss) / float64(o.pods),
		DaemonPSS: mib(settled.daemonPss), StageMS: stageMS,
	}, nil
}

// startPod runs pod i's sandbox and its web server container and waits
// until the container reports Running, recording each step's time in took.
func startPod(ctx context.Context, rc runtimeapi.RuntimeServiceClient, o options, i int, took *[len(stages)]time.Duration) error {
	t := time.Now()
	step := func(s int) {
		now := time.Now()
		took[s] = now.Sub(t)
		t = now
	}
	name := fmt.Sprintf("web-%03d", i)
	logDir := filepath.Join(o.logDir, name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	pod := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Uid: fmt.Sprintf("cripods-%d-%03d", os.Getpid(), i), Namespace: namespace},
		Hostname:     name,
		LogDirectory: logDir,
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
	}
	rp, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pod})
	if err != nil {
		return fmt.Errorf("run sandbox: %w", err)
	}
	step(0)
	cc, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  rp.GetPodSandboxId(),
		SandboxConfig: pod,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "web"},
			Image:    &runtimeapi.ImageSpec{Image: o.image},
			Command:  o.command,
			LogPath:  "web.log",
			Linux:    &runtimeapi.LinuxContainerConfig{},
		},
	})
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	step(1)
	id := cc.GetContainerId()
	if _, err := rc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	step(2)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return fmt.Errorf("container status: %w", err)
		}
		switch s := st.GetStatus().GetState(); s {
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			step(3)
			return nil
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			return fmt.Errorf("container %s exited (code %d, %s)", id, st.GetStatus().GetExitCode(), st.GetStatus().GetReason())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %s not running after a minute", id)
		}
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
