package cri_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pauseImage is an image shaped as registry.k8s.io/pause: one layer
// holding /pause (berth-pause's bytes here: any static pause will do),
// user 65535:65535, entrypoint /pause. entrypoint replaces /pause when
// given.
func pauseImage(t *testing.T, entrypoint ...string) *registrytest.Image {
	t.Helper()
	pause, err := os.ReadFile(filepath.Join(bin, "berth-pause"))
	if err != nil {
		t.Fatal(err)
	}
	layer := []registrytest.Entry{{Name: "pause", Mode: 0o755, Data: pause}}
	if entrypoint == nil {
		entrypoint = []string{"/pause"}
	} else {
		bb, err := registrytest.BusyboxEntries()
		if err != nil {
			t.Fatal(err)
		}
		layer = append(bb, layer...)
	}
	img, err := registrytest.BuildImage([][]registrytest.Entry{layer}, registrytest.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Config = ocispec.ImageConfig{User: "65535:65535", Entrypoint: entrypoint, Env: []string{"PATH=/bin"}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img.Config = registrytest.Blob{MediaType: img.Config.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
	if img, err = registrytest.RebuildManifest(img); err != nil {
		t.Fatal(err)
	}
	return img
}

// sandboxInfo is a sandbox's verbose status info.
type sandboxInfo struct {
	Pid   int    `json:"pid"`
	Image string `json:"image"`
}

func (e *env) sandboxInfo(ctx context.Context, pod string) sandboxInfo {
	e.t.Helper()
	st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod, Verbose: true})
	if err != nil {
		e.t.Fatal(err)
	}
	var info sandboxInfo
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil {
		e.t.Fatalf("PodSandboxStatus info %q: %v", st.Info["info"], err)
	}
	return info
}

// TestSandboxImage: with [cri] sandbox_image, Status shows it; a pod
// whose sandbox image is not in the registry fails naming it and leaves
// nothing; once pushed, a pod pulls it and its sandbox process is the
// image's (/pause as 65535) in the pod's one shim, holding the namespaces, hostname and
// sysctls its container shares; ListImages pins it; RemoveImage of it
// while the pod exists fails as for the container's image in use, and
// succeeds once the pod is gone. A sandbox image whose entrypoint exits
// at once gives a pod that runs, then is NotReady and takes no
// container.
func TestSandboxImage(t *testing.T) {
	preg := registrytest.Start(t, registrytest.Options{})
	ref := preg.Host + "/k8s/pause:3.10"
	e := newEnvWith(t, fmt.Sprintf("[cri]\nsandbox_image = %q\n", ref))
	ctx := e.ctx()
	e.pull(ctx)

	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		SandboxImage string `json:"sandboxImage"`
	}
	if err := json.Unmarshal([]byte(st.Info["config"]), &conf); err != nil || conf.SandboxImage != ref {
		t.Errorf("Status config %q: sandboxImage %q, %v; want %q", st.Info["config"], conf.SandboxImage, err, ref)
	}

	pc := podConfig("sbimg", filepath.Join(e.dir, "pods", "sbimg"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"kernel.shm_rmid_forced": "1"}}
	_, err = e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	if err == nil || !strings.Contains(status.Convert(err).Message(), ref) {
		t.Fatalf("RunPodSandbox with a sandbox image the registry lacks: %v; want an error naming %s", err, ref)
	}
	t.Logf("missing sandbox image: %v", err)
	if l, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil || len(l.Items) != 0 {
		t.Errorf("pods after a failed RunPodSandbox: %v, %v", l, err)
	}
	e.nothingLeft()

	preg.PushImage(t, "k8s/pause", "3.10", pauseImage(t))
	pod := e.runPod(ctx, pc)
	ctr := e.startCtr(ctx, pod, pc, e.ctrConfig("c", "exec sleep 1000"))
	e.oneShim()
	info := e.sandboxInfo(ctx, pod)
	if info.Image != ref {
		t.Errorf("sandbox info image %q, want %q", info.Image, ref)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", info.Pid)); err != nil || string(b) != "/pause\x00" {
		t.Errorf("sandbox pid %d cmdline %q, %v; want the image's /pause", info.Pid, b, err)
	}
	if st := execedStatus(t, info.Pid); !strings.Contains(st, "\nUid:\t65535\t") {
		t.Errorf("sandbox pid %d does not run as the image's user 65535:\n%s", info.Pid, st)
	}
	cpid := e.ctrPid(t, ctr)
	for _, ns := range []string{"net", "ipc", "uts"} {
		sb, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", info.Pid, ns))
		c, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", cpid, ns))
		if err1 != nil || err2 != nil || sb != c {
			t.Errorf("%s namespace: sandbox %q (%v), container %q (%v); want one", ns, sb, err1, c, err2)
		}
	}
	if got := e.execOut(ctx, ctr, "cat /proc/sys/kernel/hostname /proc/sys/kernel/shm_rmid_forced"); got != "sbimg-host\n1\n" {
		t.Errorf("container's hostname and pod sysctl: %q", got)
	}
	if got := e.execOut(ctx, ctr, "cat /etc/resolv.conf"); !strings.Contains(got, "nameserver 127.0.0.53") {
		t.Errorf("container's resolv.conf %q lacks the pod's DNS", got)
	}
	imgs, err := e.img.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]bool{}
	for _, img := range imgs.Images {
		for _, tag := range img.RepoTags {
			pinned[tag] = img.Pinned
		}
	}
	if p, ok := pinned[ref]; !ok || !p || pinned[e.ref] {
		t.Errorf("ListImages pinned %v: want %s pinned, %s not", pinned, ref, e.ref)
	}

	// In use: removing the sandbox image fails as removing the
	// container's does, and both stay.
	_, errSandbox := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	_, errCtr := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: e.ref}})
	if errSandbox == nil || status.Code(errSandbox) != status.Code(errCtr) {
		t.Errorf("RemoveImage of the sandbox image in use: %v; of the container's image in use: %v; want the same refusal", errSandbox, errCtr)
	}
	for _, r := range []string{ref, e.ref} {
		if s, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: r}}); err != nil || s.Image == nil {
			t.Errorf("ImageStatus(%s) after a refused RemoveImage: %v, %v", r, s, err)
		}
	}
	e.removePod(ctx, pod)
	if _, err := e.img.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil {
		t.Errorf("RemoveImage of the sandbox image no pod uses: %v", err)
	}
	if s, err := e.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil || s.Image != nil {
		t.Errorf("ImageStatus(%s) after RemoveImage: %v, %v; want none", ref, s, err)
	}

	e.checkExitingSandbox(preg)
	e.nothingLeft()
}

// checkExitingSandbox restarts berthd with a sandbox image whose
// entrypoint exits at once: RunPodSandbox succeeds as containerd's does
// (the process started), then the pod is NotReady, a container is
// refused, and stop and remove leave nothing.
func (e *env) checkExitingSandbox(preg *registrytest.Registry) {
	e.t.Helper()
	preg.PushImage(e.t, "k8s/exits", "v1", pauseImage(e.t, "/bin/true"))
	ref := preg.Host + "/k8s/exits:v1"
	conf := filepath.Join(e.dir, "berthd.toml")
	b, err := os.ReadFile(conf)
	if err != nil {
		e.t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "[network]")
	if !ok {
		e.t.Fatalf("berthd.toml without [network]: %s", b)
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("[cri]\nsandbox_image = %q\n[network]%s", ref, rest)), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.restart(syscall.SIGTERM)
	ctx := e.ctx()
	pc := podConfig("exits", filepath.Join(e.dir, "pods", "exits"))
	pod := e.runPod(ctx, pc)
	for {
		st, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Status.State == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
			break
		}
		if ctx.Err() != nil {
			e.t.Fatalf("the pod of an exited sandbox stays %s", st.Status.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: e.ctrConfig("c", "true")})
	if status.Code(err) != codes.FailedPrecondition {
		e.t.Errorf("CreateContainer in a NotReady pod: %v; want FailedPrecondition", err)
	}
	e.removePod(ctx, pod)
}

// TestSandboxRunsAsPodUser: the pod's run_as_user, run_as_group and
// supplemental groups are the sandbox process's (berth-pause here, the
// configured image in TestSandboxImage), as containerd runs its pause;
// a run_as_group without a run_as_user is refused, leaving nothing.
func TestSandboxRunsAsPodUser(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	pc := podConfig("asuser", filepath.Join(e.dir, "pods", "asuser"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1234}, RunAsGroup: &runtimeapi.Int64Value{Value: 2345}, SupplementalGroups: []int64{3456}}}
	pod := e.runPod(ctx, pc)
	pid := e.podPid(t, pod)
	st := execedStatus(t, pid)
	for _, want := range []string{"\nUid:\t1234\t1234\t1234\t1234\n", "\nGid:\t2345\t2345\t2345\t2345\n"} {
		if !strings.Contains(st, want) {
			t.Errorf("sandbox pid %d status lacks %q:\n%s", pid, want, st)
		}
	}
	if !regexp.MustCompile(`\nGroups:[^\n]*\b3456\b`).MatchString(st) {
		t.Errorf("sandbox pid %d lacks supplemental group 3456:\n%s", pid, st)
	}
	e.removePod(ctx, pod)

	bad := podConfig("groupalone", filepath.Join(e.dir, "pods", "groupalone"))
	bad.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{RunAsGroup: &runtimeapi.Int64Value{Value: 2345}}}
	_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: bad})
	wantCode(t, "run_as_group alone", err, codes.InvalidArgument, "run_as_group")
	e.nothingLeft()
}

// execedStatus is /proc/PID/status once the process has left berth-init
// for its own program: a started container's init may still be
// switching identity when the start returns (as with runc).
func execedStatus(t *testing.T, pid int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "Name:\tberth-init\n") || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
