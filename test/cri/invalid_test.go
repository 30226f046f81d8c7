package cri_test

import (
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestBadInput: unknown images, sandboxes, containers and handlers, a
// bad capability, a user the image lacks, a missing mount source and a
// sysctl each get a status with the right code naming the problem, and
// leave nothing behind.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("bad", filepath.Join(e.dir, "pods", "bad"))

	_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc, RuntimeHandler: "nosuch"})
	wantCode(t, "RunPodSandbox with an unknown handler", err, codes.InvalidArgument, `"nosuch"`)
	_, err = e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{}})
	wantCode(t, "RunPodSandbox without metadata", err, codes.InvalidArgument, "metadata")
	for _, c := range []struct {
		key, value string
		hostNet    bool
	}{
		{"kernel.core_pattern", "|/tmp/x", false},                          // not namespaced
		{"kernel.shm_rmid_forced", "1+kernel.core_pattern=|/tmp/x", false}, // cr8escape
		{"kernel.shm_rmid_forced", "1\nkernel.core_pattern=|/tmp/x", false},
		{"net.ipv4.ip_forward", "1", true}, // the host's network namespace
		{"vm.swappiness", "10", false},
	} {
		withSysctl := podConfig("sysctl", "")
		withSysctl.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{c.key: c.value}}
		if c.hostNet {
			withSysctl.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}
		}
		_, err = e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: withSysctl})
		wantCode(t, "RunPodSandbox with sysctl "+c.key+"="+c.value, err, codes.InvalidArgument, c.key)
	}

	for _, call := range []struct {
		what string
		err  func() error
	}{
		{"PodSandboxStatus", func() error {
			_, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "feedface"})
			return err
		}},
		{"CreateContainer", func() error {
			_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: "feedface", Config: e.ctrConfig("x", "true"), SandboxConfig: pc})
			return err
		}},
	} {
		wantCode(t, call.what+" of an unknown sandbox", call.err(), codes.NotFound, "feedface")
	}
	for _, call := range []struct {
		what string
		err  func() error
	}{
		{"ContainerStatus", func() error {
			_, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "feedface"})
			return err
		}},
		{"StartContainer", func() error {
			_, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: "feedface"})
			return err
		}},
		{"ExecSync", func() error {
			_, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: "feedface", Cmd: []string{"true"}})
			return err
		}},
	} {
		wantCode(t, call.what+" of an unknown container", call.err(), codes.NotFound, "feedface")
	}
	for _, call := range []func() error{
		func() error {
			_, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: "feedface"})
			return err
		},
		func() error {
			_, err := e.rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: "feedface"})
			return err
		},
		func() error {
			_, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "feedface"})
			return err
		},
		func() error {
			_, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: "feedface"})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Errorf("stopping or removing what is not there: %v", err)
		}
	}

	pod := e.runPod(ctx, pc)
	create := func(cc *runtimeapi.ContainerConfig) error {
		_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, Config: cc, SandboxConfig: pc})
		return err
	}
	noImage := e.ctrConfig("noimage", "true")
	noImage.Image = &runtimeapi.ImageSpec{Image: "127.0.0.1:1/absent:v0"}
	wantCode(t, "CreateContainer of an absent image", create(noImage), codes.NotFound, "127.0.0.1:1/absent:v0")
	badCap := e.ctrConfig("badcap", "true")
	badCap.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"CAP_NOSUCH"}}}}
	wantCode(t, "CreateContainer with a bad capability", create(badCap), codes.InvalidArgument, "CAP_NOSUCH")
	badUser := e.ctrConfig("baduser", "true")
	badUser.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "ghost"}}
	wantCode(t, "CreateContainer as a user the image lacks", create(badUser), codes.InvalidArgument, "ghost")
	badMount := e.ctrConfig("badmount", "true")
	badMount.Mounts = []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: filepath.Join(e.dir, "absent")}}
	wantCode(t, "CreateContainer with a missing mount source", create(badMount), codes.InvalidArgument, filepath.Join(e.dir, "absent"))

	list, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(list.Containers) != 0 {
		t.Errorf("containers left by failed creates: %v, %v", list, err)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}
