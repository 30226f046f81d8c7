package cri_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// criView is what a kubelet sees of berthd's pods and containers.
type criView struct {
	pods []*runtimeapi.PodSandbox
	ctrs []*runtimeapi.Container
	// podStatus and ctrStatus are verbose statuses by ID (their info
	// holds the pids).
	podStatus map[string]*runtimeapi.PodSandboxStatusResponse
	ctrStatus map[string]*runtimeapi.ContainerStatusResponse
}

// view reads the CRI view.
func (e *env) view(ctx context.Context) criView {
	e.t.Helper()
	v := criView{podStatus: map[string]*runtimeapi.PodSandboxStatusResponse{}, ctrStatus: map[string]*runtimeapi.ContainerStatusResponse{}}
	pods, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctrs, err := e.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	v.pods, v.ctrs = pods.Items, ctrs.Containers
	for _, p := range v.pods {
		if v.podStatus[p.Id], err = e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.Id, Verbose: true}); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, c := range v.ctrs {
		if v.ctrStatus[c.Id], err = e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id, Verbose: true}); err != nil {
			e.t.Fatal(err)
		}
	}
	return v
}

// same reports how got differs from want, "" when it does not.
func (v criView) same(got criView) string {
	if len(got.pods) != len(v.pods) || len(got.ctrs) != len(v.ctrs) {
		return "a different number of pods or containers"
	}
	for _, p := range v.pods {
		if !proto.Equal(v.podStatus[p.Id], got.podStatus[p.Id]) {
			return "pod " + p.Id[:12] + ": " + got.podStatus[p.Id].String()
		}
	}
	for _, c := range v.ctrs {
		if !proto.Equal(v.ctrStatus[c.Id], got.ctrStatus[c.Id]) {
			return "container " + c.Id[:12] + ": " + got.ctrStatus[c.Id].String()
		}
	}
	return ""
}

// restart stops berthd with sig and starts it again on the same root,
// state and network.
func (e *env) restart(sig syscall.Signal) {
	e.t.Helper()
	_ = e.conn.Close()
	if err := e.berthd.Process.Signal(sig); err != nil {
		e.t.Fatal(err)
	}
	_ = e.berthd.Wait()
	e.start()
}

// TestRestartWithPods: two pods with a container each keep running
// across a berthd stopped by SIGTERM and then killed by SIGKILL; lists,
// statuses (pids, IPs, times) are unchanged, exec answers in the pods'
// namespaces and the logs go on; then they stop and go, leaving nothing
// (their pod cgroups, made before the restarts, included).
func TestRestartWithPods(t *testing.T) {
	testutil.CheckLeaks(t)
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	var ctrs []string
	for _, name := range []string{"ra", "rb"} {
		pc := podConfig(name, filepath.Join(e.dir, "pods", name))
		pod := e.runPod(ctx, pc)
		cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc,
			Config: e.ctrConfig("c", "while true; do echo tick; sleep 0.2; done")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
			t.Fatal(err)
		}
		ctrs = append(ctrs, cr.ContainerId)
	}
	before := e.view(ctx)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		e.restart(sig)
		ctx := e.ctx()
		if diff := before.same(e.view(ctx)); diff != "" {
			t.Fatalf("after %s, the CRI view changed: %s", sig, diff)
		}
		for _, ctr := range ctrs {
			e.checkAlive(ctx, before.ctrStatus[ctr].Status, before)
		}
	}
	for _, p := range before.pods {
		if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			t.Fatal(err)
		}
	}
	if v := e.view(ctx); len(v.pods)+len(v.ctrs) != 0 {
		t.Errorf("left after removal: %v %v", v.pods, v.ctrs)
	}
	e.nothingLeft()
}

// checkAlive checks a container answers exec in its pod (hostname and
// address) and its log grows.
func (e *env) checkAlive(ctx context.Context, st *runtimeapi.ContainerStatus, v criView) {
	t := e.t
	t.Helper()
	var pod *runtimeapi.PodSandboxStatus
	for _, c := range v.ctrs {
		if c.Id == st.Id {
			pod = v.podStatus[c.PodSandboxId].Status
		}
	}
	r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: st.Id, Cmd: []string{"sh", "-c", "hostname; cat /proc/net/fib_trie"}, Timeout: 30})
	if err != nil || r.ExitCode != 0 || !strings.HasPrefix(string(r.Stdout), pod.Metadata.Name+"-host\n") || !bytes.Contains(r.Stdout, []byte(pod.Network.Ip)) {
		t.Errorf("ExecSync in %.12s: %v, %v; want the pod's hostname and %s", st.Id, r, err, pod.Network.Ip)
	}
	size := func() int64 {
		fi, err := os.Stat(st.LogPath)
		if err != nil {
			t.Fatalf("the log: %v", err)
		}
		return fi.Size()
	}
	was := size()
	for range 100 {
		if size() > was {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("the log of %.12s does not grow", st.Id)
}
