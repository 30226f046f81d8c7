package cri_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRecursiveReadOnlyMounts: Status says berth-runtime's handler makes
// recursively read-only mounts; such a bind is read-only in its
// sub-mounts too, where a plain read-only bind leaves a sub-mount
// writable; ContainerStatus reports it; one that is not read-only or not
// private is InvalidArgument, leaving nothing.
func TestRecursiveReadOnlyMounts(t *testing.T) {
	testutil.CheckLeaks(t)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h := st.GetRuntimeHandlers(); len(h) == 0 || h[0].GetName() != "" || !h[0].GetFeatures().GetRecursiveReadOnlyMounts() {
		t.Fatalf("the default handler does not say it makes recursively read-only mounts: %v", h)
	}
	src := filepath.Join(e.dir, "rro")
	hostMount(t, src, unix.MS_PRIVATE)
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(sub, unix.MNT_DETACH)

	pc := podConfig("rro", filepath.Join(e.dir, "pods", "rro"))
	pod := e.runPod(ctx, pc)
	cfg := e.ctrConfig("rro", "exec sleep 1000")
	cfg.Mounts = []*runtimeapi.Mount{
		{HostPath: src, ContainerPath: "/rro", Readonly: true, RecursiveReadOnly: true},
		{HostPath: src, ContainerPath: "/ro", Readonly: true},
	}
	ctr := e.startCtr(ctx, pod, pc, cfg)
	if _, _, code := e.sh(ctx, ctr, "touch /rro/sub/x"); code == 0 {
		t.Error("a write to a sub-mount of a recursively read-only bind succeeded")
	}
	if _, stderr, code := e.sh(ctx, ctr, "touch /ro/sub/x"); code != 0 {
		t.Errorf("a plain read-only bind's sub-mount is read-only too (%s): the check above proves nothing", stderr)
	}
	cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
	if err != nil {
		t.Fatal(err)
	}
	if m := cs.GetStatus().GetMounts(); len(m) != 2 || !m[0].GetRecursiveReadOnly() || m[1].GetRecursiveReadOnly() {
		t.Errorf("ContainerStatus mounts: %v", m)
	}
	for _, c := range []struct {
		name string
		m    *runtimeapi.Mount
		want string
	}{
		{"writable", &runtimeapi.Mount{HostPath: src, ContainerPath: "/rro", RecursiveReadOnly: true}, "needs readonly"},
		{"shared", &runtimeapi.Mount{HostPath: src, ContainerPath: "/rro", Readonly: true, RecursiveReadOnly: true,
			Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}, "needs private propagation"},
	} {
		bad := e.ctrConfig("rro-"+c.name, "true")
		bad.Mounts = []*runtimeapi.Mount{c.m}
		_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: bad})
		wantCode(t, c.name+" recursive read-only mount", err, codes.InvalidArgument, c.want)
	}
	e.removePod(ctx, pod)
}
