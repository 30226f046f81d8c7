package cri

import (
	"testing"

	"github.com/berth-dev/berth/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodCgroup: the kubelet's parent is taken as it is, with no pod
// cgroup; without one the pod gets berthd's, whose limits are the
// resources plus the overhead, a limit the resources leave unset
// staying unset.
func TestPodCgroup(t *testing.T) {
	res := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuQuota: 50000, CpuPeriod: 100000, CpuShares: 512}
	over := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 16 << 20, CpuQuota: 5000, CpuPeriod: 50000, CpuShares: 100}
	var cfg container.Config
	podCgroup(&cfg, &runtimeapi.LinuxPodSandboxConfig{CgroupParent: "/kubepods/pod1", Resources: res, Overhead: over})
	if cfg.CgroupParent != "/kubepods/pod1" || cfg.PodCgroup || cfg.PodResources.Memory != 0 || cfg.PodResources.NanoCPUs != 0 {
		t.Errorf("with the kubelet's parent: %+v", cfg)
	}
	cfg = container.Config{}
	podCgroup(&cfg, &runtimeapi.LinuxPodSandboxConfig{Resources: res, Overhead: over})
	want := container.Resources{Memory: 80 << 20, NanoCPUs: 6e8, CPUShares: 612}
	if cfg.CgroupParent != "" || !cfg.PodCgroup || cfg.PodResources.Memory != want.Memory || cfg.PodResources.NanoCPUs != want.NanoCPUs || cfg.PodResources.CPUShares != want.CPUShares {
		t.Errorf("berthd's pod cgroup: %+v; want %+v", cfg, want)
	}
	cfg = container.Config{}
	podCgroup(&cfg, &runtimeapi.LinuxPodSandboxConfig{Overhead: over})
	if !cfg.PodCgroup || cfg.PodResources.Memory != 0 || cfg.PodResources.NanoCPUs != 0 || cfg.PodResources.CPUShares != 0 {
		t.Errorf("overhead alone: %+v; want no limit", cfg.PodResources)
	}
}
