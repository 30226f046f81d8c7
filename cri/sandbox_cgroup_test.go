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

// TestPodCgroupCpusetSwapHugepagesUnified: berthd's pod cgroup takes the
// pod's cpuset, swap, hugepage and unified settings; the overhead's
// memory adds to the swap limit (memory plus swap) and its hugepages to
// the pod's of the same size, leaving a size the pod does not limit
// unlimited.
func TestPodCgroupCpusetSwapHugepagesUnified(t *testing.T) {
	res := &runtimeapi.LinuxContainerResources{
		MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 128 << 20, CpusetCpus: "0", CpusetMems: "0",
		HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 4 << 20}, {PageSize: "1GB", Limit: 0}},
		Unified:        map[string]string{"memory.high": "100000000"},
	}
	over := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 16 << 20,
		HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 2 << 20}, {PageSize: "1GB", Limit: 1 << 30}, {PageSize: "64KB", Limit: 1 << 20}}}
	var cfg container.Config
	podCgroup(&cfg, &runtimeapi.LinuxPodSandboxConfig{Resources: res, Overhead: over})
	r := cfg.PodResources
	if r.Memory != 80<<20 || r.MemorySwap != 144<<20 || r.CpusetCpus != "0" || r.CpusetMems != "0" {
		t.Errorf("memory %d, swap %d, cpuset %q/%q; want 80 MiB, 144 MiB, 0/0", r.Memory, r.MemorySwap, r.CpusetCpus, r.CpusetMems)
	}
	wantHuge := map[string]uint64{"2MB": 6 << 20, "1GB": 1 << 30}
	if len(r.Hugepages) != len(wantHuge) || r.Hugepages["2MB"] != wantHuge["2MB"] || r.Hugepages["1GB"] != wantHuge["1GB"] {
		t.Errorf("hugepages %v; want %v", r.Hugepages, wantHuge)
	}
	if r.Unified["memory.high"] != "100000000" || len(r.Unified) != 1 {
		t.Errorf("unified %v", r.Unified)
	}
}
