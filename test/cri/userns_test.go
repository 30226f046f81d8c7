package cri_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// usernsPod is the user namespace the kubelet asks for a hostUsers:
// false pod: host ids 1000000.. as the pod's 0..65535.
func usernsPod() *runtimeapi.NamespaceOption {
	m := []*runtimeapi.IDMapping{{ContainerId: 0, HostId: 1000000, Length: 65536}}
	return &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: m, Gids: m}}
}

// TestPodUserNamespace: berth-runtime's handler reports user namespaces
// (runc 1.1, without idmapped mounts, does not); a pod with mode POD
// runs its sandbox and its containers in one user namespace with exactly
// the given mappings; its root is root in the container, owns the
// image's files and may write them (the root is an overlay of idmapped
// lower layers), and from the host its files are the mapped ids'; a
// bind (an emptyDir) is idmapped: the pod's root owns it and what it
// writes there is the host's root's on the host; berthd's /etc files
// and an image volume's files are root's in the pod too; the pod's
// sysctls are set (net.* ones by berthd, in the pod's network namespace,
// which the host's user namespace owns); the pod's address answers from
// the host. Bad options are refused, and so is a pod whose root is
// below a directory the mapped root cannot search; each leaves nothing.
func TestPodUserNamespace(t *testing.T) {
	cfg := ""
	runc, err := exec.LookPath("runc")
	if err == nil {
		cfg = "[runtimes]\nrunc = \"" + runc + "\"\n"
	}
	e := newEnvWith(t, cfg)
	ctx := e.ctx()
	e.pull(ctx)
	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range st.RuntimeHandlers {
		want := h.Name == "" || h.Name == "berth-runtime"
		if h.Features.GetUserNamespaces() != want {
			t.Errorf("handler %q: user_namespaces %v, want %v", h.Name, h.Features.GetUserNamespaces(), want)
		}
	}
	e.checkBadUserNS(ctx, runc != "")

	empty := filepath.Join(e.dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	pc := podConfig("userns", filepath.Join(e.dir, "pods", "userns"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: usernsPod()},
		Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "80", "kernel.shm_rmid_forced": "1"}}
	// The test's temporary directory is 0700: the pod's root could not
	// reach its root file system.
	_, err = e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc})
	wantCode(t, "a pod below a directory others cannot search", err, codes.FailedPrecondition, filepath.Dir(e.dir)+" (mode -rwx------) is not searchable")
	e.nothingLeft()
	if err := os.Chmod(filepath.Dir(e.dir), 0o711); err != nil {
		t.Fatal(err)
	}
	pod := e.runPod(ctx, pc)
	ps, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
	if err != nil {
		t.Fatal(err)
	}
	if u := ps.Status.GetLinux().GetNamespaces().GetOptions().GetUsernsOptions(); u.GetMode() != runtimeapi.NamespaceMode_POD ||
		len(u.GetUids()) != 1 || u.GetUids()[0].GetHostId() != 1000000 || u.GetGids()[0].GetLength() != 65536 {
		t.Errorf("PodSandboxStatus user namespace options: %v", u)
	}
	web := e.ctrConfig("web", "echo hello >/tmp/greeting; exec httpd -f -p 8080 -h /tmp")
	web.Mounts = []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: empty}}
	web.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: usernsPod()}}
	ctr := e.runCtr(ctx, pod, pc, web)
	oc := e.ctrConfig("other", "exec sleep 600")
	oc.Mounts = []*runtimeapi.Mount{{ContainerPath: "/img", Readonly: true, Image: &runtimeapi.ImageSpec{Image: e.ref}}}
	other := e.runCtr(ctx, pod, pc, oc)

	if got := strings.Fields(e.execOut(ctx, ctr, "cat /proc/self/uid_map /proc/self/gid_map")); strings.Join(got, " ") != "0 1000000 65536 0 1000000 65536" {
		t.Errorf("uid_map and gid_map in the pod: %q", got)
	}
	if got := strings.TrimSpace(e.execOut(ctx, ctr, "id -u; id -g")); got != "0\n0" {
		t.Errorf("id in the pod: %q, want 0 and 0", got)
	}
	if got := strings.TrimSpace(e.execOut(ctx, ctr, "stat -c '%u:%g' /bin/busybox /etc/passwd /")); got != "0:0\n0:0\n0:0" {
		t.Errorf("the image's files in the pod are owned by %q, want root", got)
	}
	if got := strings.TrimSpace(e.execOut(ctx, ctr, "stat -c '%u:%g' /etc/hosts /etc/hostname /etc/resolv.conf")); got != "0:0\n0:0\n0:0" {
		t.Errorf("berthd's /etc files in the pod are owned by %q, want root", got)
	}
	if got := strings.TrimSpace(e.execOut(ctx, other, "stat -c '%u:%g' /img/bin/busybox /img/etc/passwd")); got != "0:0\n0:0" {
		t.Errorf("an image volume's files in the pod are owned by %q, want root", got)
	}
	e.execOut(ctx, ctr, "echo more >>/etc/passwd && echo new >/etc/made && chown 5:6 /etc/made")
	pid := e.ctrPid(t, ctr)
	for f, want := range map[string]string{"etc/passwd": "1000000:1000000", "etc/made": "1000005:1000006"} {
		if got := ownerOf(t, fmt.Sprintf("/proc/%d/root/%s", pid, f)); got != want {
			t.Errorf("from the host, the container's /%s is %s's, want %s", f, got, want)
		}
	}
	if got := strings.TrimSpace(e.execOut(ctx, ctr, "stat -c '%u:%g' /data; echo x >/data/f; stat -c '%u:%g' /data/f")); got != "0:0\n0:0" {
		t.Errorf("the bind in the pod and a file written there are owned by %q, want root", got)
	}
	if got := ownerOf(t, filepath.Join(empty, "f")); got != "0:0" {
		t.Errorf("on the host, the file the pod's root wrote to the bind is %s's, want 0:0 (an idmapped bind)", got)
	}

	ns1 := e.execOut(ctx, ctr, "readlink /proc/self/ns/user")
	ns2 := e.execOut(ctx, other, "readlink /proc/self/ns/user")
	host, _ := os.Readlink("/proc/self/ns/user")
	if ns1 != ns2 || strings.TrimSpace(ns1) == host {
		t.Errorf("user namespaces of the pod's containers: %q and %q (host's %q); want one of their own", ns1, ns2, host)
	}
	if got := strings.Fields(e.execOut(ctx, ctr, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced")); strings.Join(got, " ") != "80 1" {
		t.Errorf("the pod's sysctls in the pod: %q, want 80 and 1", got)
	}
	if got := httpGet(t, "http://"+net.JoinHostPort(ps.Status.GetNetwork().GetIp(), "8080")+"/greeting"); got != "hello\n" {
		t.Errorf("the pod's server answers %q", got)
	}

	// A container asking for other options than its pod's is refused.
	bad := e.ctrConfig("bad", "true")
	bad.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{
		UsernsOptions: &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE}}}}
	_, err = e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: bad})
	wantCode(t, "a container in the host's user namespace in a pod with its own", err, codes.InvalidArgument, "differ from its pod's")
	e.removePod(ctx, pod)
}

// checkBadUserNS: options the CRI runtimes refuse are InvalidArgument
// naming the problem, and leave nothing.
func (e *env) checkBadUserNS(ctx context.Context, haveRunc bool) {
	t := e.t
	m := func(c, h, l uint32) []*runtimeapi.IDMapping {
		return []*runtimeapi.IDMapping{{ContainerId: c, HostId: h, Length: l}}
	}
	ok := m(0, 1000000, 65536)
	for _, c := range []struct {
		name    string
		opts    *runtimeapi.UserNamespace
		handler string
		want    string
	}{
		{"POD without mappings", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}, "", "exactly one uid mapping, have 0"},
		{"POD without gid mappings", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ok}, "", "exactly one gid mapping, have 0"},
		{"two mappings", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: append(m(0, 1000000, 1000), m(1000, 2000000, 1000)...), Gids: ok}, "", "exactly one uid mapping, have 2"},
		{"container id 0 unmapped", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: m(1, 1000000, 65536), Gids: ok}, "", "container id 1"},
		{"the host's root", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ok, Gids: m(0, 0, 65536)}, "", "host id 0"},
		{"length 0", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: m(0, 1000000, 0), Gids: ok}, "", "length 0"},
		{"past the last id", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: m(0, 4294967000, 65536), Gids: ok}, "", "past the last id"},
		{"NODE with mappings", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_NODE, Uids: ok, Gids: ok}, "", "takes no mappings"},
		{"CONTAINER", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_CONTAINER}, "", "mode CONTAINER"},
		{"TARGET", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_TARGET}, "", "mode TARGET"},
		{"a handler without support", &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD, Uids: ok, Gids: ok}, "runc", "does not support user namespaces"},
	} {
		if c.handler == "runc" && !haveRunc {
			continue
		}
		pc := podConfig("bad-userns", filepath.Join(e.dir, "pods", "bad"))
		pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{UsernsOptions: c.opts}}}
		_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc, RuntimeHandler: c.handler})
		wantCode(t, c.name, err, codes.InvalidArgument, c.want)
	}
	if l, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil || len(l.Items) != 0 {
		t.Errorf("refused pods left %v, %v", l, err)
	}
	e.nothingLeft()
}

// ownerOf is "uid:gid" of a path on the host.
func ownerOf(t *testing.T, p string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}
