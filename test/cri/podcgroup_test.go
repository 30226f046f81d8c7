package cri_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// hierarchies are the mount points of the host's cgroup hierarchies
// (every v1 one and the cgroup2 one), as berth-runtime finds them.
func hierarchies(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, typ := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(typ) == 0 || (typ[0] != "cgroup" && typ[0] != "cgroup2") {
			continue
		}
		if p := f[4]; p == "/sys/fs/cgroup" || filepath.Dir(p) == "/sys/fs/cgroup" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no cgroup hierarchy under /sys/fs/cgroup")
	}
	return out
}

// makeCgroupParent makes parent (absolute, two levels) in every
// hierarchy, as the kubelet makes a pod's, and removes exactly those
// directories when the test ends.
func makeCgroupParent(t *testing.T, parent string) {
	t.Helper()
	for _, h := range hierarchies(t) {
		dir := filepath.Join(h, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		testutil.Undo(t, "remove the test's cgroup parent", func() error {
			for d := dir; d != h; d = filepath.Dir(d) {
				if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
			return nil
		})
	}
}

// v2Root is the cgroup2 mount point: /sys/fs/cgroup/unified on a
// hybrid host, else /sys/fs/cgroup.
func v2Root() string {
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		return "/sys/fs/cgroup/unified"
	}
	return "/sys/fs/cgroup"
}

// cgroupsOf is /proc/PID/cgroup: each hierarchy's line, keyed by its
// controllers ("" for cgroup2), to the process's cgroup path.
func cgroupsOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if parts := strings.SplitN(l, ":", 3); len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out
}

// inCgroup checks the process is in cgroup want in every hierarchy.
func inCgroup(t *testing.T, what string, pid int, want string) {
	t.Helper()
	for h, got := range cgroupsOf(t, pid) {
		if got != want {
			t.Errorf("%s (pid %d) is in %s:%s; want %s", what, pid, h, got, want)
		}
	}
}

// podPid is the pause's pid, from the verbose PodSandboxStatus.
func (e *env) podPid(t *testing.T, pod string) int {
	t.Helper()
	st, err := e.rt.PodSandboxStatus(e.ctx(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	return verbosePid(t, st.Info)
}

// TestPodCgroupParent: a pod given a cgroup parent (made by the test,
// as the kubelet makes one) has its pause and containers in
// <parent>/berth-<id>, and berthd writes no limit to the parent; a pod
// without one gets berthd's pod cgroup /berth-pod-<sandbox>, holding
// its pause and containers, whose limits are the pod's resources plus
// its overhead; a systemd slice or an unclean path is refused; after
// the removals nothing of berthd's is left and the test's parent is
// still there.
func TestPodCgroupParent(t *testing.T) {
	testutil.CheckLeaks(t)
	parent := "/" + testutil.Name(t) + "/podabc"
	makeCgroupParent(t, parent)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)

	res := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 64 << 20, CpuQuota: 50000, CpuPeriod: 100000, CpuShares: 512}
	over := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 16 << 20, CpuQuota: 10000, CpuPeriod: 100000, CpuShares: 100}

	// Under the kubelet's parent: its limits are the kubelet's.
	kpc := podConfig("kube", filepath.Join(e.dir, "pods", "kube"))
	kpc.Linux = &runtimeapi.LinuxPodSandboxConfig{CgroupParent: parent, Resources: res, Overhead: over}
	memLimit := filepath.Join("/sys/fs/cgroup/memory", parent, "memory.limit_in_bytes") // v1
	if _, err := os.Stat(memLimit); err != nil {
		memLimit = filepath.Join(v2Root(), parent, "memory.max")
	}
	limitBefore, _ := os.ReadFile(memLimit)
	kpod := e.runPod(ctx, kpc)
	kctr := e.startCtr(ctx, kpod, kpc, e.ctrConfig("c", "exec sleep 1000"))
	inCgroup(t, "the pause under a parent", e.podPid(t, kpod), parent+"/berth-"+kpod)
	inCgroup(t, "a container under a parent", e.ctrPid(t, kctr), parent+"/berth-"+kctr)
	if after, _ := os.ReadFile(memLimit); string(after) != string(limitBefore) {
		t.Errorf("berthd changed the kubelet's parent's %s from %q to %q", memLimit, limitBefore, after)
	}

	// No parent: berthd's pod cgroup, with the limits.
	bpc := podConfig("own", filepath.Join(e.dir, "pods", "own"))
	bres := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: res.MemoryLimitInBytes, CpuQuota: res.CpuQuota, CpuPeriod: res.CpuPeriod,
		CpuShares: res.CpuShares, CpusetCpus: "0", CpusetMems: "0", MemorySwapLimitInBytes: 128 << 20}
	bpc.Linux = &runtimeapi.LinuxPodSandboxConfig{Resources: bres, Overhead: over}
	bpod := e.runPod(ctx, bpc)
	cc := e.ctrConfig("c", "exec sleep 1000")
	cc.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{CpuQuota: 20000, CpuPeriod: 100000}}
	bctr := e.startCtr(ctx, bpod, bpc, cc)
	podCg := "/berth-pod-" + bpod
	inCgroup(t, "the pause of berthd's pod cgroup", e.podPid(t, bpod), podCg+"/berth-"+bpod)
	inCgroup(t, "a container of berthd's pod cgroup", e.ctrPid(t, bctr), podCg+"/berth-"+bctr)
	pid := e.ctrPid(t, bctr)
	if d := cgroupDir(t, pid, "memory"); d != "" {
		if got := readTrim(t, filepath.Join(filepath.Dir(d), "memory.limit_in_bytes")); got != strconv.Itoa(80<<20) {
			t.Errorf("pod memory.limit_in_bytes %s; want 80 MiB (64 + 16 overhead)", got)
		}
	} else if got := readTrim(t, filepath.Join(filepath.Dir(cgroupDir(t, pid, "")), "memory.max")); got != strconv.Itoa(80<<20) {
		t.Errorf("pod memory.max %s; want 80 MiB", got)
	}
	if d := cgroupDir(t, pid, "memory"); d != "" {
		if f := filepath.Join(filepath.Dir(d), "memory.memsw.limit_in_bytes"); fileExists(f) {
			if got := readTrim(t, f); got != strconv.Itoa(144<<20) {
				t.Errorf("pod memory.memsw.limit_in_bytes %s; want 144 MiB (128 + 16 overhead)", got)
			}
		}
	} else if got := readTrim(t, filepath.Join(filepath.Dir(cgroupDir(t, pid, "")), "memory.swap.max")); got != strconv.Itoa(64<<20) {
		t.Errorf("pod memory.swap.max %s; want 64 MiB (144 - 80: swap only)", got)
	}
	if d := cgroupDir(t, pid, "cpuset"); d != "" {
		if got := readTrim(t, filepath.Join(filepath.Dir(d), "cpuset.cpus")); got != "0" {
			t.Errorf("pod cpuset.cpus %q; want 0", got)
		}
		if got := readTrim(t, filepath.Join(filepath.Dir(d), "cpuset.mems")); got != "0" {
			t.Errorf("pod cpuset.mems %q; want 0", got)
		}
	} else if f := filepath.Join(filepath.Dir(cgroupDir(t, pid, "")), "cpuset.cpus"); fileExists(f) {
		if got := readTrim(t, f); got != "0" {
			t.Errorf("pod cgroup2 cpuset.cpus %q; want 0", got)
		}
	}
	if d := cgroupDir(t, pid, "cpu"); d != "" {
		pd := filepath.Dir(d)
		if q, p := readTrim(t, filepath.Join(pd, "cpu.cfs_quota_us")), readTrim(t, filepath.Join(pd, "cpu.cfs_period_us")); q != "60000" || p != "100000" {
			t.Errorf("pod cpu.cfs_quota_us %s, cpu.cfs_period_us %s; want 60000 per 100000 (0.5 + 0.1 overhead)", q, p)
		}
		if got := readTrim(t, filepath.Join(pd, "cpu.shares")); got != "612" {
			t.Errorf("pod cpu.shares %s; want 612", got)
		}
	} else if got := readTrim(t, filepath.Join(filepath.Dir(cgroupDir(t, pid, "")), "cpu.max")); got != "60000 100000" {
		t.Errorf("pod cpu.max %q; want 60000 100000", got)
	}

	// Bad parents, refused before anything is made.
	for _, bad := range []string{"kubepods.slice:cri-containerd:abc", "kubepods-burstable.slice", "kubepods/pod1", "/kubepods/../pod1", "/kubepods//pod1", "/kubepods/pod1/", "/kube\npods"} {
		pc := podConfig("bad", filepath.Join(e.dir, "pods", "bad"))
		pc.Linux = &runtimeapi.LinuxPodSandboxConfig{CgroupParent: bad}
		_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
		wantCode(t, "cgroup parent "+strconv.Quote(bad), err, codes.InvalidArgument, "cgroup parent")
	}

	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: kpod}); err != nil {
		t.Fatal(err)
	}
	e.removePod(ctx, bpod)
	for _, h := range hierarchies(t) {
		if _, err := os.Stat(filepath.Join(h, parent)); err != nil {
			t.Errorf("the test's cgroup parent is gone from %s: %v", h, err)
		}
		for _, d := range []string{filepath.Join(h, parent, "berth-"+kpod), filepath.Join(h, parent, "berth-"+kctr), filepath.Join(h, podCg)} {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("left after the pods' removal: %s (%v)", d, err)
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
