package cri_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/specgen/template"
)

// startCtr creates and starts a container of cfg in pod and returns its ID.
func (e *env) startCtr(ctx context.Context, pod string, pc *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	e.t.Helper()
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", cfg.Metadata.Name, err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		e.t.Fatalf("StartContainer %s: %v", cfg.Metadata.Name, err)
	}
	return cr.ContainerId
}

// sh runs script in ctr with ExecSync and returns its output and code.
func (e *env) sh(ctx context.Context, ctr, script string) (stdout, stderr string, code int32) {
	e.t.Helper()
	r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", script}, Timeout: 30})
	if err != nil {
		e.t.Fatalf("ExecSync %q: %v", script, err)
	}
	return string(r.Stdout), string(r.Stderr), r.ExitCode
}

// capField returns the hexadecimal capability set name (CapEff, CapBnd)
// of /proc/.../status text.
func capField(status, name string) uint64 {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n
		}
	}
	return 0
}

// TestExecPrivileged: a privileged container and one given ALL
// capabilities run, and ExecSync runs in them, with every capability
// berthd holds (this test's permitted set, which lacks CAP_SYS_RESOURCE
// where the test runs without it). They used to ask for every capability
// the kernel knows, so their init failed to keep one and exited at once
// ("shim Exec: EOF" when an exec raced with that). A privileged
// container's seccomp profile is ignored.
func TestExecPrivileged(t *testing.T) {
	testutil.CheckLeaks(t)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	host, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	all := capField(string(host), "CapPrm")
	pc := podConfig("priv", filepath.Join(e.dir, "pods", "priv"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: true}}
	pod := e.runPod(ctx, pc)
	profile := filepath.Join(e.dir, "no-sethostname.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sethostname"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]*runtimeapi.LinuxContainerSecurityContext{
		"privileged": {Privileged: true, Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: profile}},
		"allcaps":    {Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"ALL"}}},
	} {
		cfg := e.ctrConfig(name, "exec sleep 1000")
		cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: sc}
		ctr := e.startCtr(ctx, pod, pc, cfg)
		for range 3 {
			out, _, code := e.sh(ctx, ctr, "cat /proc/self/status")
			if code != 0 || capField(out, "CapEff") != all || capField(out, "CapBnd") != all {
				t.Errorf("%s: exec's status (exit %d): CapEff %x CapBnd %x; want %x", name, code, capField(out, "CapEff"), capField(out, "CapBnd"), all)
			}
		}
		if name == "privileged" { // its seccomp profile is ignored, as the CRI says
			if _, stderr, code := e.sh(ctx, ctr, "hostname priv-renamed"); code != 0 {
				t.Errorf("sethostname in a privileged container with a profile that blocks it: exit %d: %s", code, stderr)
			}
		}
		cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
		if err != nil || cs.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			t.Errorf("%s after exec: %v, %v; want running", name, cs, err)
		}
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}

// hostMount makes dir a bind mount of itself with propagation flag
// (MS_SHARED, MS_PRIVATE) and detaches it, and all under it, at cleanup.
func hostMount(t *testing.T, dir string, flag uintptr) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", flag|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
}

// TestMountPropagation: a bind with PROPAGATION_BIDIRECTIONAL sees what
// the host mounts under its source and the host sees what the container
// mounts under it; HOST_TO_CONTAINER only the first; PRIVATE neither. A
// bidirectional bind of a source on a private mount is refused, naming
// it.
func TestMountPropagation(t *testing.T) {
	testutil.CheckLeaks(t)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("prop", filepath.Join(e.dir, "pods", "prop"))
	pod := e.runPod(ctx, pc)
	flag := filepath.Join(e.dir, "flag")
	if err := os.MkdirAll(flag, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(flag, "flagFile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prop          runtimeapi.MountPropagation
		hostFlag      uintptr
		toCtr, toHost bool
	}{
		{runtimeapi.MountPropagation_PROPAGATION_PRIVATE, unix.MS_PRIVATE, false, false},
		{runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, unix.MS_SHARED, true, false},
		{runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL, unix.MS_SHARED, true, true},
	} {
		name := strings.ToLower(strings.TrimPrefix(c.prop.String(), "PROPAGATION_"))
		src := filepath.Join(e.dir, "vol-"+name)
		hostMount(t, src, c.hostFlag)
		fromHost := filepath.Join(src, "fromhost")
		if err := os.Mkdir(fromHost, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := e.ctrConfig(strings.ReplaceAll(name, "_", "-"), "exec sleep 1000")
		cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}}
		cfg.Mounts = []*runtimeapi.Mount{{HostPath: src, ContainerPath: "/vol", Propagation: c.prop}}
		ctr := e.startCtr(ctx, pod, pc, cfg)
		if err := unix.Mount(flag, fromHost, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		out, _, _ := e.sh(ctx, ctr, "ls -A /vol/fromhost")
		if got := strings.Contains(out, "flagFile"); got != c.toCtr {
			t.Errorf("%s: the host's mount under the source seen in the container: %v (ls: %q); want %v", name, got, out, c.toCtr)
		}
		if _, stderr, code := e.sh(ctx, ctr, "mkdir -p /vol/fromctr && mount --bind /etc /vol/fromctr"); code != 0 {
			t.Fatalf("%s: mount in the container: exit %d: %s", name, code, stderr)
		}
		ents, _ := os.ReadDir(filepath.Join(src, "fromctr"))
		if got := len(ents) > 0; got != c.toHost {
			t.Errorf("%s: the container's mount under the bind seen on the host: %v; want %v", name, got, c.toHost)
		}
		if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1}); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(e.dir, "vol-refused")
	hostMount(t, src, unix.MS_PRIVATE)
	cfg := e.ctrConfig("refused", "exec sleep 1000")
	cfg.Mounts = []*runtimeapi.Mount{{HostPath: src, ContainerPath: "/vol", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}}
	_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
	wantCode(t, "rshared bind of a private mount", err, codes.InvalidArgument, fmt.Sprintf("%s, which is not a shared mount", src))
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}

// TestMaskedReadonlyPaths: masked_paths and readonly_paths replace the
// defaults (a masked file reads empty, a read-only directory refuses
// writes, the default ones are not applied); without them the defaults
// hold; a privileged container has neither; a relative path is refused.
func TestMaskedReadonlyPaths(t *testing.T) {
	testutil.CheckLeaks(t)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("paths", filepath.Join(e.dir, "pods", "paths"))
	pod := e.runPod(ctx, pc)
	mounted := func(ctr, target string) bool {
		out, _, _ := e.sh(ctx, ctr, "cat /proc/self/mountinfo")
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[4] == target {
				return true
			}
		}
		return false
	}
	masked := "" // a default masked path this kernel has
	for _, p := range template.DefaultMaskedPaths {
		if _, err := os.Stat(p); err == nil {
			masked = p
			break
		}
	}
	if masked == "" {
		t.Fatalf("none of %v exists here", template.DefaultMaskedPaths)
	}
	cfg := e.ctrConfig("given", "exec sleep 1000")
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		MaskedPaths: []string{"/etc/passwd"}, ReadonlyPaths: []string{"/tmp"}}}
	given := e.startCtr(ctx, pod, pc, cfg)
	if out, _, code := e.sh(ctx, given, "cat /etc/passwd"); code != 0 || out != "" {
		t.Errorf("masked /etc/passwd reads %q (exit %d); want nothing", out, code)
	}
	if _, stderr, code := e.sh(ctx, given, "touch /tmp/x"); code == 0 || !strings.Contains(stderr, "Read-only file system") {
		t.Errorf("touch in read-only /tmp: exit %d, %q; want Read-only file system", code, stderr)
	}
	if mounted(given, masked) || mounted(given, "/proc/sys") {
		t.Errorf("the default masked (%s) and read-only (/proc/sys) paths are applied too", masked)
	}
	defaults := e.startCtr(ctx, pod, pc, e.ctrConfig("defaults", "exec sleep 1000"))
	if !mounted(defaults, masked) || !mounted(defaults, "/proc/sys") || mounted(defaults, "/etc/passwd") {
		t.Errorf("without lists, the defaults (%s masked, /proc/sys read-only) do not hold", masked)
	}
	cfg = e.ctrConfig("privileged", "exec sleep 1000")
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		Privileged: true, MaskedPaths: []string{"/etc/passwd"}, ReadonlyPaths: []string{"/tmp"}}}
	priv := e.startCtr(ctx, pod, pc, cfg)
	if mounted(priv, "/etc/passwd") || mounted(priv, "/tmp") || mounted(priv, masked) {
		t.Errorf("a privileged container has masked or read-only paths")
	}
	cfg = e.ctrConfig("relative", "true")
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{MaskedPaths: []string{"etc/passwd"}}}
	_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
	wantCode(t, "a relative masked path", err, codes.InvalidArgument, `"etc/passwd" must be absolute`)
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}
