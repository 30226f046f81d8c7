package cri_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/lsm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// spec reads the OCI spec berthd wrote for container id.
func (e *env) spec(id string) specs.Spec {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "state", "containers", "k8s.io", id, "config.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestLSMOptions: AppArmor profiles and SELinux options and relabeling
// do what the host's security modules allow, probed as berthd probes
// them. Without AppArmor, RuntimeDefault and Unconfined run unconfined
// and a Localhost profile (new field or deprecated string) is
// InvalidArgument naming AppArmor, leaving nothing; with it,
// RuntimeDefault runs under berth-default and an unloaded profile is
// refused. Without SELinux, a pod's and a container's options and a
// relabeled mount are accepted and change no label; with it, the process
// runs with the options' label and the mount's source gets the mount
// label.
func TestLSMOptions(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	armor, selinux := lsm.AppArmorEnabled(), lsm.SELinuxEnabled()
	t.Logf("host: apparmor %v, selinux %v", armor, selinux)

	pc := podConfig("lsm", filepath.Join(e.dir, "pods", "lsm"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		SelinuxOptions: &runtimeapi.SELinuxOption{Level: "s0:c4,c7"},
	}}
	pod := e.runPod(ctx, pc)
	vol := filepath.Join(e.dir, "relabeled")
	if err := os.MkdirAll(filepath.Join(vol, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cc := e.ctrConfig("confined", "exec sleep 1000")
	cc.Mounts = []*runtimeapi.Mount{{HostPath: vol, ContainerPath: "/vol", SelinuxRelabel: true}}
	cc.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		Apparmor:       &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
		SelinuxOptions: &runtimeapi.SELinuxOption{Type: "container_t"},
	}}
	ctr := e.runCtr(ctx, pod, pc, cc)
	s := e.spec(ctr)
	if want := map[bool]string{true: "berth-default", false: ""}[armor]; s.Process.ApparmorProfile != want {
		t.Errorf("RuntimeDefault: apparmor profile %q, want %q", s.Process.ApparmorProfile, want)
	}
	label := e.execOut(ctx, ctr, "touch /vol/sub/f && cat /proc/self/attr/current 2>/dev/null; true")
	xattr := make([]byte, 256)
	n, xerr := unix.Lgetxattr(filepath.Join(vol, "sub"), "security.selinux", xattr)
	if selinux {
		if want := "system_u:system_r:container_t:s0:c4,c7"; s.Process.SelinuxLabel != want || !strings.HasPrefix(label, want) {
			t.Errorf("selinux process label %q (in the container %q), want %q", s.Process.SelinuxLabel, label, want)
		}
		if want := "system_u:object_r:container_file_t:s0:c4,c7"; xerr != nil || strings.TrimRight(string(xattr[:n]), "\x00") != want {
			t.Errorf("relabeled source: %q, %v; want %q", xattr[:max(n, 0)], xerr, want)
		}
	} else {
		if s.Process.SelinuxLabel != "" || s.Linux.MountLabel != "" {
			t.Errorf("selinux labels %q and %q on a host without SELinux", s.Process.SelinuxLabel, s.Linux.MountLabel)
		}
		if !errors.Is(xerr, unix.ENODATA) && !errors.Is(xerr, unix.ENOTSUP) {
			t.Errorf("the relabeled source got a label on a host without SELinux: %q, %v", xattr[:max(n, 0)], xerr)
		}
	}

	unconfined := e.ctrConfig("unconfined", "true")
	unconfined.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		Apparmor: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined},
	}}
	uc, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: unconfined})
	if err != nil {
		t.Fatal(err)
	}
	if p := e.spec(uc.ContainerId).Process.ApparmorProfile; p != "" {
		t.Errorf("Unconfined: apparmor profile %q", p)
	}

	for _, c := range []struct {
		name string
		sc   *runtimeapi.LinuxContainerSecurityContext
	}{
		{"localhost", &runtimeapi.LinuxContainerSecurityContext{Apparmor: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "berth-test-unloaded"}}},
		{"deprecated", &runtimeapi.LinuxContainerSecurityContext{ApparmorProfile: "localhost/berth-test-unloaded"}},
	} {
		bad := e.ctrConfig(c.name, "true")
		bad.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: c.sc}
		_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: bad})
		want := "AppArmor is not enabled on this host"
		if armor {
			want = "not loaded"
		}
		wantCode(t, c.name+" apparmor profile", err, codes.InvalidArgument, want)
	}
	bad := e.ctrConfig("badprofile", "true")
	bad.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{ApparmorProfile: "docker-default"}}
	_, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: bad})
	wantCode(t, "a deprecated profile without localhost/", err, codes.InvalidArgument, "docker-default")
	e.removePod(ctx, pod)
}
