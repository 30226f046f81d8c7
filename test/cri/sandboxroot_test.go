package cri_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestSandboxesShareOneRootAndMountNoCgroups: the pauses of two pods
// run on one root directory, made once, not one per pod: the same inode
// as each pause sees "/", nothing in each bundle's own rootfs. Through a pause
// the shared root is read-only, and each pod still sees its own
// hostname file mounted on it while the shared file stays empty. A
// pause gets no /sys/fs/cgroup: it reads no cgroup files.
func TestSandboxesShareOneRootAndMountNoCgroups(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	var roots []syscall.Stat_t
	for _, name := range []string{"sa", "sb"} {
		pod := e.runPod(ctx, podConfig(name, filepath.Join(e.dir, "pods", name)))
		defer func() {
			if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
				t.Error(err)
			}
			if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
				t.Error(err)
			}
		}()
		proc := "/proc/" + strconv.Itoa(e.podPid(t, pod))
		var st syscall.Stat_t
		if err := syscall.Stat(proc+"/root", &st); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, st)
		own, err := os.ReadDir(filepath.Join(e.dir, "state", "containers", "k8s.io", pod, "rootfs"))
		if err != nil || len(own) != 0 {
			t.Errorf("pod %s's bundle rootfs: %d entries, %v; want none", name, len(own), err)
		}
		if b, err := os.ReadFile(proc + "/root/etc/hostname"); err != nil || strings.TrimSpace(string(b)) != name+"-host" {
			t.Errorf("pod %s's /etc/hostname = %q, %v", name, b, err)
		}
		if mi, err := os.ReadFile(proc + "/mountinfo"); err != nil || strings.Contains(string(mi), " /sys/fs/cgroup") {
			t.Errorf("pod %s's pause has a /sys/fs/cgroup (or the mountinfo read failed: %v)", name, err)
		}
		f, err := os.OpenFile(proc+"/root/tmp/written", os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Close()
			t.Errorf("pod %s: a file was created in the shared root through its pause", name)
		} else if !errors.Is(err, syscall.EROFS) {
			t.Errorf("pod %s: create in its root: %v, want EROFS", name, err)
		}
	}
	if roots[0].Dev != roots[1].Dev || roots[0].Ino != roots[1].Ino {
		t.Errorf("the two pauses' roots differ: %d:%d and %d:%d", roots[0].Dev, roots[0].Ino, roots[1].Dev, roots[1].Ino)
	}
	if fi, err := os.Stat(filepath.Join(e.dir, "state", "roots", "berth-pause", "etc", "hostname")); err != nil || fi.Size() != 0 {
		t.Errorf("the shared root's /etc/hostname: %v, %v; want an empty file", fi, err)
	}
}
