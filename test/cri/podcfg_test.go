package cri_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"google.golang.org/grpc/codes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// runCtr creates and starts a container in pod and returns its ID.
func (e *env) runCtr(ctx context.Context, pod string, pc *runtimeapi.PodSandboxConfig, cc *runtimeapi.ContainerConfig) string {
	e.t.Helper()
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cc})
	if err != nil {
		e.t.Fatalf("CreateContainer %s: %v", cc.Metadata.Name, err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		e.t.Fatalf("StartContainer %s: %v", cc.Metadata.Name, err)
	}
	return cr.ContainerId
}

// execOut runs cmd under sh -c in ctr and returns its stdout; a non-zero
// exit fails the test.
func (e *env) execOut(ctx context.Context, ctr, cmd string) string {
	e.t.Helper()
	r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"sh", "-c", cmd}, Timeout: 30})
	if err != nil || r.ExitCode != 0 {
		e.t.Fatalf("ExecSync %q: %v, %v", cmd, r, err)
	}
	return string(r.Stdout)
}

// removePod stops and removes pod and checks nothing of berthd's is left.
func (e *env) removePod(ctx context.Context, pod string) {
	e.t.Helper()
	if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		e.t.Fatal(err)
	}
	e.nothingLeft()
}

// waitExited waits for ctr to exit and returns its status.
func (e *env) waitExited(ctx context.Context, ctr string) *runtimeapi.ContainerStatus {
	e.t.Helper()
	for {
		cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
		if err != nil {
			e.t.Fatal(err)
		}
		if cs.Status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
			return cs.Status
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("container %s did not exit: %v", ctr, cs.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readSysctl(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPodSysctls: a pod's namespaced sysctls (IPC and network ones, a
// value with a space among them, one of the pod's eth0, which exists only
// once the pod is attached) are set in its namespaces, where its
// containers read them, and the host's values stay as they were.
func TestPodSysctls(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	files := []string{"/proc/sys/kernel/shm_rmid_forced", "/proc/sys/fs/mqueue/msg_max", "/proc/sys/net/ipv4/ping_group_range"}
	var host []string
	for _, f := range files {
		host = append(host, readSysctl(t, f))
	}
	pc := podConfig("sysctls", filepath.Join(e.dir, "pods", "sysctls"))
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{
		"kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "100", "net.ipv4.ping_group_range": "0 2000",
		"net.ipv4.conf.eth0.accept_local": "1",
	}}
	pod := e.runPod(ctx, pc)
	ctr := e.runCtr(ctx, pod, pc, e.ctrConfig("reader", "exec sleep 1000"))
	inPod := append(slices.Clone(files), "/proc/sys/net/ipv4/conf/eth0/accept_local")
	if got := e.execOut(ctx, ctr, "cat "+strings.Join(inPod, " ")); got != "1\n100\n0\t2000\n1\n" {
		t.Errorf("the pod's sysctls read %q, want 1, 100, 0 2000 and 1", got)
	}
	for i, f := range files {
		if now := readSysctl(t, f); now != host[i] {
			t.Errorf("host's %s changed from %q to %q", f, host[i], now)
		}
	}
	e.removePod(ctx, pod)

	hostIPC := podConfig("hostipc", "")
	hostIPC.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"kernel.shm_rmid_forced": "1"},
		SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: &runtimeapi.NamespaceOption{Ipc: runtimeapi.NamespaceMode_NODE}}}
	_, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: hostIPC})
	wantCode(t, "an IPC sysctl in the host's IPC namespace", err, codes.InvalidArgument, "kernel.shm_rmid_forced")
	e.nothingLeft()
}

// pushGroupsImage pushes busybox whose /etc/passwd has app (1000:1000)
// and whose /etc/group lists app in extra (50000), and returns its ref.
func (e *env) pushGroupsImage(ctx context.Context) string {
	e.t.Helper()
	bb, err := registrytest.BusyboxEntries()
	if err != nil {
		e.t.Fatal(err)
	}
	etc := []registrytest.Entry{
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\napp:x:1000:\nextra:x:50000:app\n")},
	}
	img, err := registrytest.BuildImage([][]registrytest.Entry{bb, etc}, registrytest.ImageOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.reg.PushImage(e.t, "test/groups", "v1", img)
	ref := e.reg.Host + "/test/groups:v1"
	if _, err := e.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// TestSupplementalGroups: supplemental groups reach the container's
// process and its exec'd ones with its primary group; policy Merge keeps
// the groups the image's /etc/group gives the user, Strict drops them;
// ContainerStatus reports the identity. A negative group is refused.
func TestSupplementalGroups(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	groupsRef := e.pushGroupsImage(ctx)
	logDir := filepath.Join(e.dir, "pods", "groups")
	pc := podConfig("groups", logDir)
	pod := e.runPod(ctx, pc)
	for _, c := range []struct {
		name   string
		image  string
		uid    *runtimeapi.Int64Value
		groups []int64
		policy runtimeapi.SupplementalGroupsPolicy
		want   []int64 // uid, gid, then the groups
	}{
		{"plain", e.ref, nil, []int64{5678, 1234}, runtimeapi.SupplementalGroupsPolicy_Merge, []int64{0, 0, 0, 1234, 5678}},
		{"merge", groupsRef, &runtimeapi.Int64Value{Value: 1000}, []int64{1234}, runtimeapi.SupplementalGroupsPolicy_Merge, []int64{1000, 1000, 1000, 1234, 50000}},
		{"strict", groupsRef, &runtimeapi.Int64Value{Value: 1000}, []int64{1234}, runtimeapi.SupplementalGroupsPolicy_Strict, []int64{1000, 1000, 1000, 1234}},
	} {
		cc := e.ctrConfig(c.name, "id -G; exec sleep 1000")
		cc.Image.Image = c.image
		cc.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			RunAsUser: c.uid, SupplementalGroups: c.groups, SupplementalGroupsPolicy: c.policy}}
		ctr := e.runCtr(ctx, pod, pc, cc)
		ids := strings.Trim(fmt.Sprint(c.want[2:]), "[]")
		if got := strings.TrimSpace(e.execOut(ctx, ctr, "id -G")); got != ids {
			t.Errorf("%s: exec'd id -G = %q, want %q", c.name, got, ids)
		}
		b, _ := os.ReadFile(filepath.Join(logDir, c.name+".log"))
		if !strings.Contains(string(b), " stdout F "+ids+"\n") {
			t.Errorf("%s: the init's id -G logged %q, want %q", c.name, b, ids)
		}
		cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
		if err != nil {
			t.Fatal(err)
		}
		u := cs.Status.GetUser().GetLinux()
		if got := append([]int64{u.GetUid(), u.GetGid()}, u.GetSupplementalGroups()...); !slices.Equal(got, c.want) {
			t.Errorf("%s: ContainerStatus user = %v, want uid, gid, groups %v", c.name, u, c.want)
		}
	}
	bad := e.ctrConfig("bad", "true")
	bad.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{SupplementalGroups: []int64{-1}}}
	_, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: bad})
	wantCode(t, "a negative supplemental group", err, codes.InvalidArgument, "-1")
	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil || !st.GetFeatures().GetSupplementalGroupsPolicy() {
		t.Errorf("Status does not advertise SupplementalGroupsPolicy: %v, %v", st, err)
	}
	e.removePod(ctx, pod)
}

// TestContainerOOMKilled: a container the OOM killer kills under its
// memory limit exits 137 with reason OOMKilled; one that kills itself
// with SIGKILL exits 137 with reason Error; one that exits 0, Completed.
func TestContainerOOMKilled(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("oom", filepath.Join(e.dir, "pods", "oom"))
	pod := e.runPod(ctx, pc)
	hog := e.ctrConfig("hog", "busybox dd if=/dev/zero of=/dev/null bs=64M")
	hog.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 16 << 20}}
	// A child, since the container's PID 1 ignores its own SIGKILL.
	self := e.ctrConfig("self", "sh -c 'kill -9 $$'; exit $?")
	for _, c := range []struct {
		cc     *runtimeapi.ContainerConfig
		reason string
		code   int32
	}{{hog, "OOMKilled", 137}, {self, "Error", 137}, {e.ctrConfig("ok", "true"), "Completed", 0}} {
		st := e.waitExited(ctx, e.runCtr(ctx, pod, pc, c.cc))
		if st.ExitCode != c.code || st.Reason != c.reason {
			t.Errorf("%s: exit %d reason %q, want %d and %q", c.cc.Metadata.Name, st.ExitCode, st.Reason, c.code, c.reason)
		}
	}
	e.removePod(ctx, pod)
}

// TestReopenContainerLog: after the log is renamed, ReopenContainerLog
// makes the shim write a new file at log_path and stop writing the
// renamed one; a stopped or unknown container is refused.
func TestReopenContainerLog(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	logDir := filepath.Join(e.dir, "pods", "reopen")
	pc := podConfig("reopen", logDir)
	pod := e.runPod(ctx, pc)
	ctr := e.runCtr(ctx, pod, pc, e.ctrConfig("ticker", "while true; do echo tick; sleep 0.1; done"))
	path := filepath.Join(logDir, "ticker.log")
	waitLines := func(p string, n int) {
		t.Helper()
		for {
			b, _ := os.ReadFile(p)
			if bytes.Count(b, []byte(" stdout F tick\n")) >= n {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s holds %q, want %d ticks", p, b, n)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitLines(path, 1)
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: ctr}); err != nil {
		t.Fatalf("ReopenContainerLog: %v", err)
	}
	old, err := os.ReadFile(path + ".old")
	if err != nil {
		t.Fatal(err)
	}
	waitLines(path, 3)
	if now, _ := os.ReadFile(path + ".old"); !bytes.Equal(now, old) {
		t.Errorf("the renamed log grew after the reopen: %q, then %q", old, now)
	}
	if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctr, Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: ctr})
	wantCode(t, "ReopenContainerLog of a stopped container", err, codes.FailedPrecondition, "not running")
	_, err = e.rt.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: "feedface"})
	wantCode(t, "ReopenContainerLog of an unknown container", err, codes.NotFound, "feedface")
	e.removePod(ctx, pod)
}

// TestPortForwardHostNetwork: port-forward into a pod on the host's
// network dials the host's loopback, where this test listens.
func TestPortForwardHostNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "from the host") }),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	pc := podConfig("hostnet", "")
	pc.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}}
	pod := e.runPod(ctx, pc)
	r, err := e.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: pod, Port: []int32{int32(port)}})
	if err != nil {
		t.Fatalf("PortForward: %v", err)
	}
	u, err := url.Parse(r.Url)
	if err != nil {
		t.Fatal(err)
	}
	rt, up, err := spdy.RoundTripperFor(&rest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut bytes.Buffer
	fw, err := portforward.NewOnAddressesForStreaming(spdy.NewDialerForStreaming(up, &http.Client{Transport: rt}, "POST", u),
		[]string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("forward: %v (%s)", err, errOut.String())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports %v, %v", ports, err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
	if err != nil {
		t.Fatalf("get through the forward: %v (%s)", err, errOut.String())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "from the host" {
		t.Errorf("got %q through the forward, want the host's listener's reply", b)
	}
	close(stop)
	<-done
	e.removePod(ctx, pod)
}
