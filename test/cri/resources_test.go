package cri_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cgroupDir is the directory of controller (a v1 hierarchy's name, or ""
// for cgroup2) that process pid is in, as /proc/PID/cgroup says; "" if
// the process is in no such hierarchy.
func cgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	for ctrls, p := range cgroupsOf(t, pid) {
		for _, c := range strings.Split(ctrls, ",") {
			if c != controller {
				continue
			}
			mount := "/sys/fs/cgroup/" + controller
			if controller == "" {
				mount = "/sys/fs/cgroup"
				if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
					mount = "/sys/fs/cgroup/unified" // hybrid
				}
			}
			return filepath.Join(mount, p)
		}
	}
	return ""
}

// ctrPid is the container's init as the runtime reports it.
func (e *env) ctrPid(t *testing.T, ctr string) int {
	t.Helper()
	st, err := e.rt.ContainerStatus(e.ctx(), &runtimeapi.ContainerStatusRequest{ContainerId: ctr, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	return verbosePid(t, st.Info)
}

// verbosePid is the pid of a verbose status's "info" JSON.
func verbosePid(t *testing.T, info map[string]string) int {
	t.Helper()
	var v struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		t.Fatalf("status info %q: %v", info["info"], err)
	}
	return v.Pid
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("read %s: %v", p, err)
	}
	return strings.TrimSpace(string(b))
}

// TestContainerResources: cpuset, memory and swap, oom_score_adj,
// hugepages and unified resources of a container config reach its
// cgroup and process, as far as this host's cgroups allow; an
// oom_score_adj below berthd's is raised to berthd's when berthd may
// not lower it; what the host cannot do or what is impossible is refused
// naming the value, leaving nothing.
func TestContainerResources(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("res", filepath.Join(e.dir, "pods", "res"))
	pod := e.runPod(ctx, pc)

	cc := e.ctrConfig("limits", "exec sleep 1000")
	cc.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
		CpusetCpus: "0", CpusetMems: "0", MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 128 << 20, OomScoreAdj: 500,
	}}
	ctr := e.startCtr(ctx, pod, pc, cc)
	if got := e.execOut(ctx, ctr, "cat /proc/1/oom_score_adj"); strings.TrimSpace(got) != "500" {
		t.Errorf("oom_score_adj inside: %q; want 500", got)
	}
	pid := e.ctrPid(t, ctr)
	if d := cgroupDir(t, pid, "cpuset"); d != "" {
		if got := readTrim(t, filepath.Join(d, "cpuset.cpus")); got != "0" {
			t.Errorf("cpuset.cpus %q; want 0", got)
		}
		if got := readTrim(t, filepath.Join(d, "cpuset.mems")); got != "0" {
			t.Errorf("cpuset.mems %q; want 0", got)
		}
	} else if got := readTrim(t, filepath.Join(cgroupDir(t, pid, ""), "cpuset.cpus")); got != "0" {
		t.Errorf("cgroup2 cpuset.cpus %q; want 0", got)
	}
	if d := cgroupDir(t, pid, "memory"); d != "" {
		if got := readTrim(t, filepath.Join(d, "memory.limit_in_bytes")); got != strconv.Itoa(64<<20) {
			t.Errorf("memory.limit_in_bytes %s", got)
		}
		if _, err := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes")); err == nil {
			if got := readTrim(t, filepath.Join(d, "memory.memsw.limit_in_bytes")); got != strconv.Itoa(128<<20) {
				t.Errorf("memory.memsw.limit_in_bytes %s; want 128 MiB", got)
			}
		}
	} else if got := readTrim(t, filepath.Join(cgroupDir(t, pid, ""), "memory.swap.max")); got != strconv.Itoa(64<<20) {
		t.Errorf("cgroup2 memory.swap.max %s; want 64 MiB (swap only)", got)
	}

	// Lower than berthd's own: kept only if berthd may lower scores.
	own := readTrim(t, fmt.Sprintf("/proc/%d/oom_score_adj", e.berthd.Process.Pid))
	status := readTrim(t, fmt.Sprintf("/proc/%d/status", e.berthd.Process.Pid))
	want := own
	if capField(status, "CapEff")&(1<<24) != 0 { // CAP_SYS_RESOURCE
		want = "-500"
	}
	low := e.ctrConfig("low", "exec sleep 1000")
	low.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{OomScoreAdj: -500}}
	lowCtr := e.startCtr(ctx, pod, pc, low)
	if got := strings.TrimSpace(e.execOut(ctx, lowCtr, "cat /proc/1/oom_score_adj")); got != want {
		t.Errorf("oom_score_adj -500 inside: %s; want %s (berthd's %s)", got, want, own)
	}

	// UpdateContainerResources changes the cpuset of a running container.
	if _, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: lowCtr,
		Linux: &runtimeapi.LinuxContainerResources{CpusetCpus: "0"}}); err != nil {
		t.Errorf("UpdateContainerResources cpuset: %v", err)
	}
	if got := strings.TrimSpace(e.execOut(ctx, lowCtr, "grep Cpus_allowed_list /proc/1/status")); got != "Cpus_allowed_list:\t0" {
		t.Errorf("after UpdateContainerResources cpuset 0: %q", got)
	}
	_, err := e.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: lowCtr,
		Linux: &runtimeapi.LinuxContainerResources{CpusetCpus: "0-4095"}})
	wantCode(t, "UpdateContainerResources with cpus the host lacks", err, codes.InvalidArgument, "cpu.cpus")

	// Hugepages: the hugetlb controller decides.
	huge := e.ctrConfig("huge", "exec sleep 1000")
	huge.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
		HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 4 << 20}}}}
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: huge})
	if err == nil {
		_, err = e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId})
	}
	// As the runtime probes it: a v1 hugetlb hierarchy, else the cgroup2
	// directory (hybrid or unified) if it has the controller.
	v2 := cgroupDir(t, os.Getpid(), "")
	switch v2ctrls, _ := os.ReadFile(filepath.Join(v2, "cgroup.controllers")); {
	case cgroupDir(t, os.Getpid(), "hugetlb") != "":
		if err != nil {
			t.Errorf("hugepage limits with a v1 hugetlb controller: %v", err)
		} else if got := readTrim(t, filepath.Join(cgroupDir(t, e.ctrPid(t, cr.ContainerId), "hugetlb"), "hugetlb.2MB.limit_in_bytes")); got != strconv.Itoa(4<<20) {
			t.Errorf("hugetlb.2MB.limit_in_bytes %s", got)
		}
	case v2 != "" && strings.Contains(string(v2ctrls), "hugetlb"):
		if err != nil {
			t.Errorf("hugepage limits with a cgroup2 hugetlb controller: %v", err)
		} else if got := readTrim(t, filepath.Join(cgroupDir(t, e.ctrPid(t, cr.ContainerId), ""), "hugetlb.2MB.max")); got != strconv.Itoa(4<<20) {
			t.Errorf("hugetlb.2MB.max %s", got)
		}
	default:
		if err == nil || !strings.Contains(err.Error(), "hugetlb") {
			t.Errorf("hugepage limits without a hugetlb controller: %v; want an error naming hugetlb", err)
		}
	}
	if cr != nil {
		_, _ = e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: cr.ContainerId})
	}

	for _, bad := range []struct {
		res  *runtimeapi.LinuxContainerResources
		want string
	}{
		{&runtimeapi.LinuxContainerResources{CpusetCpus: "0-4095"}, "cpu.cpus"},
		{&runtimeapi.LinuxContainerResources{CpusetMems: "x"}, "cpu.mems"},
		{&runtimeapi.LinuxContainerResources{OomScoreAdj: 5000}, "oom_score_adj 5000"},
		{&runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "3MB", Limit: 1}}}, "3MB"},
		{&runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, MemorySwapLimitInBytes: 32 << 20}, "memory.swap"},
	} {
		cfg := e.ctrConfig("bad", "true")
		cfg.Linux = &runtimeapi.LinuxContainerConfig{Resources: bad.res}
		_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
		wantCode(t, "CreateContainer with "+bad.res.String(), err, codes.InvalidArgument, bad.want)
	}
	unified := e.ctrConfig("unified", "exec sleep 1000")
	unified.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.high": "50000000"}}}
	cr, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: unified})
	if cgroupDir(t, os.Getpid(), "memory") != "" { // v1 or hybrid: refused
		wantCode(t, "CreateContainer with unified resources on a v1 host", err, codes.InvalidArgument, "unified")
	} else if err != nil {
		t.Errorf("unified resources on a cgroup2 host: %v", err)
	} else {
		if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
			t.Fatal(err)
		}
		if got := readTrim(t, filepath.Join(cgroupDir(t, e.ctrPid(t, cr.ContainerId), ""), "memory.high")); got != "49999872" && got != "50000000" {
			t.Errorf("memory.high %s", got)
		}
	}
	e.removePod(ctx, pod)
}
