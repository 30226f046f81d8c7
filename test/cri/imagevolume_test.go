package cri_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/registrytest"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestImageVolumes: a container mounts a three-layer image (whiteouts
// applied) read-only at /mnt/full and its etc/dir at /mnt/sub; binaries
// in it run, writes fail, ContainerStatus gives the image's ID; a
// writable image volume, a missing or escaping sub-path and an absent
// image are refused leaving nothing; the volumes survive a berthd
// restart and a stop and start; removal leaves no mount or snapshot.
func TestImageVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	layers, err := registrytest.MultiLayerImage(registrytest.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.PushImage(t, "test/layers", "v1", layers)
	pr, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: e.reg.Host + "/test/layers:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := pr.ImageRef
	pc := podConfig("iv", filepath.Join(e.dir, "pods", "iv"))
	pod := e.runPod(ctx, pc)
	vol := func(target, sub string, ro bool) *runtimeapi.Mount {
		return &runtimeapi.Mount{ContainerPath: target, Readonly: ro, Image: &runtimeapi.ImageSpec{Image: id}, ImageSubPath: sub}
	}
	for _, bad := range []struct {
		m          *runtimeapi.Mount
		code       codes.Code
		want, what string
	}{
		{vol("/mnt/x", "", false), codes.InvalidArgument, "read-only", "a writable image volume"},
		{vol("/mnt/x", "etc/nope", true), codes.InvalidArgument, "etc/nope", "a missing sub-path"},
		{vol("/mnt/x", "../etc", true), codes.InvalidArgument, "../etc", "an escaping sub-path"},
		{vol("/mnt/x", "/etc", true), codes.InvalidArgument, "/etc", "an absolute sub-path"},
		{&runtimeapi.Mount{ContainerPath: "/mnt/x", Readonly: true, Image: &runtimeapi.ImageSpec{Image: e.reg.Host + "/test/none:v1"}}, codes.NotFound, "test/none", "an absent image"},
	} {
		cfg := e.ctrConfig("bad", "sleep 1000")
		cfg.Mounts = []*runtimeapi.Mount{bad.m}
		_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
		wantCode(t, "CreateContainer with "+bad.what, err, bad.code, bad.want)
	}
	if list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil || len(list.Containers) != 0 {
		t.Errorf("containers after refused creates: %v, %v", list, err)
	}
	e.noImageMounts()

	cfg := e.ctrConfig("iv", "exec sleep 1000")
	cfg.Mounts = []*runtimeapi.Mount{vol("/mnt/full", "", true), vol("/mnt/sub", "etc/dir", true)}
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctr := cr.ContainerId
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatal(err)
	}
	e.checkImageVolumes(ctx, ctr)
	e.restart(syscall.SIGTERM) // the container runs on, its views still mounted
	e.checkImageVolumes(ctx, ctr)
	cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
	if err != nil || len(cs.Status.Mounts) != 2 {
		t.Fatalf("ContainerStatus: %v, %v", cs, err)
	}
	for _, m := range cs.Status.Mounts {
		if m.Image.GetImageRef() != id || m.Image.GetImage() != id || !m.Readonly {
			t.Errorf("ContainerStatus mount %v: want image %s, read-only", m, id)
		}
	}
	if cs.Status.Mounts[1].ImageSubPath != "etc/dir" {
		t.Errorf("ContainerStatus mount %v: want sub-path etc/dir", cs.Status.Mounts[1])
	}
	if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatalf("start again: %v", err)
	}
	e.checkImageVolumes(ctx, ctr) // mounted again, once
	if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
	e.noImageMounts()
}

// checkImageVolumes checks, in the container, the image volumes
// TestImageVolumes mounts, and that each view is mounted once.
func (e *env) checkImageVolumes(ctx context.Context, ctr string) {
	t := e.t
	t.Helper()
	for _, c := range []struct {
		cmd  string
		code int32
	}{
		{"cat /mnt/full/etc/keep /mnt/full/data/b /mnt/sub/new", 0},
		{"test -e /mnt/full/etc/gone || test -e /mnt/full/data/a || test -e /mnt/sub/old || test -e /mnt/sub/dir", 1},
		{"/mnt/full/bin/busybox true", 0},
		{"touch /mnt/full/x", 1},
		{"touch /mnt/sub/x", 1},
	} {
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", c.cmd}, Timeout: 30})
		if err != nil || r.ExitCode != c.code {
			t.Errorf("ExecSync %q: %v, %v; want exit %d", c.cmd, r, err, c.code)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"0", "1"} {
		if got := strings.Count(string(mi), " "+filepath.Join(e.dir, "state", "containers", "k8s.io", ctr, "image-mounts", n)+" "); got != 1 {
			t.Errorf("image view %s is mounted %d times on the host; want once", n, got)
		}
	}
}

// noImageMounts checks that no image view is mounted and no container
// snapshot (root or image view) is left.
func (e *env) noImageMounts() {
	e.t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, line := range strings.Split(string(mi), "\n") {
		if strings.Contains(line, filepath.Join(e.dir, "state")) && strings.Contains(line, "image-mounts") {
			e.t.Errorf("left mounted: %s", line)
		}
	}
	out, err := exec.Command(filepath.Join(bin, "berth"), "--address", filepath.Join(e.dir, "berthd.sock"), "-n", "k8s.io", "snapshot", "ls").CombinedOutput()
	if err != nil || strings.Contains(string(out), "container-") {
		e.t.Errorf("snapshots: %v\n%s", err, out)
	}
}
