package runtime_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cgroupMounts maps each mounted cgroup controller ("memory", "cpu",
// "name=systemd", …) to its mount point; "" is the cgroup2 mount.
func cgroupMounts(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		switch qf[0] {
		case "cgroup2":
			if _, ok := out[""]; !ok {
				out[""] = pf[4]
			}
		case "cgroup":
			for _, o := range strings.Split(qf[2], ",") {
				if _, ok := out[o]; !ok && o != "rw" && o != "ro" {
					out[o] = pf[4]
				}
			}
		}
	}
	return out
}

// cgroupDir returns the directory of a process's cgroup for controller
// ("" for the cgroup2 one), read from /proc/PID/cgroup, or "" when the
// controller is not mounted.
func cgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	mounts := cgroupMounts(t)
	mp, ok := mounts[controller]
	if !ok {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join(mp, parts[2])
			}
		}
	}
	return ""
}

// cgFile reads one cgroup file of a container's init, trimmed.
func cgFile(t *testing.T, pid int, controller, file string) string {
	t.Helper()
	d := cgroupDir(t, pid, controller)
	if d == "" {
		t.Fatalf("no %q cgroup for pid %d", controller, pid)
	}
	b, err := os.ReadFile(filepath.Join(d, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// wantCg asserts the content of a cgroup file of pid.
func wantCg(t *testing.T, pid int, controller, file, want string) {
	t.Helper()
	if got := cgFile(t, pid, controller, file); got != want {
		t.Errorf("%s: got %q, want %q", file, got, want)
	}
}

// blockDevice returns the major:minor of a real (not loop, ram or zram)
// block device of the host, or skips the test when there is none.
func blockDevice(t *testing.T) (int64, int64) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", n, "dev"))
		if err != nil {
			continue
		}
		var maj, min int64
		if _, err := sscanDev(strings.TrimSpace(string(b)), &maj, &min); err == nil {
			return maj, min
		}
	}
	t.Skip("no real block device in /sys/block")
	return 0, 0
}

func sscanDev(s string, maj, min *int64) (int, error) {
	return sscan(strings.Replace(s, ":", " ", 1), maj, min)
}

// hasCgroupFile reports whether the root of controller's hierarchy has a
// file (so a kernel feature is present).
func hasCgroupFile(t *testing.T, controller, file string) bool {
	t.Helper()
	mp, ok := cgroupMounts(t)[controller]
	if !ok {
		return false
	}
	_, err := os.Stat(filepath.Join(mp, file))
	return err == nil
}

func ptr[T any](v T) *T { return &v }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFileString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// blkioWeightFiles returns the weight and per-device weight files a fresh
// blkio cgroup of this host has, picked as the cgroups package picks them
// (CFQ's blkio.weight, else BFQ's blkio.bfq.weight), or "" for each the
// kernel lacks. The files exist only below the root, so it probes with a
// cgroup of its own, removed before it returns.
func blkioWeightFiles(t *testing.T) (weight, weightDevice string) {
	t.Helper()
	mp, ok := cgroupMounts(t)["blkio"]
	if !ok {
		t.Skip("no blkio hierarchy")
	}
	d, err := os.MkdirTemp(mp, "berth-test-probe-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(d)
	has := func(f string) bool { _, err := os.Stat(filepath.Join(d, f)); return err == nil }
	for _, p := range []string{"blkio.", "blkio.bfq."} {
		if has(p + "weight") {
			weight = p + "weight"
			if has(p + "weight_device") {
				weightDevice = p + "weight_device"
			}
			return weight, weightDevice
		}
	}
	return "", ""
}

// hugetlb2MB reports whether the kernel has 2 MB huge pages and a hugetlb
// controller to limit them: a v1 hierarchy, or the cgroup2 one (hybrid
// hosts may offer hugetlb only there).
func hugetlb2MB(t *testing.T) bool {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		return false
	}
	mounts := cgroupMounts(t)
	if _, ok := mounts["hugetlb"]; ok {
		return true
	}
	mp, ok := mounts[""]
	if !ok {
		return false
	}
	b, err := os.ReadFile(filepath.Join(mp, "cgroup.controllers"))
	return err == nil && slices.Contains(strings.Fields(string(b)), "hugetlb")
}
