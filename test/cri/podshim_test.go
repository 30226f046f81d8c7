package cri_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// shimPids are the berth-shim processes serving this env's berthd: the
// host's processes run from its bin/berth-shim with a state directory
// under the env's.
func (e *env) shimPids() []int {
	e.t.Helper()
	exe, err := filepath.EvalSymlinks(filepath.Join(bin, "berth-shim"))
	if err != nil {
		e.t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		e.t.Fatal(err)
	}
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if p, err := os.Readlink("/proc/" + ent.Name() + "/exe"); err != nil || p != exe {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte("\x00"+filepath.Join(e.dir, "state")+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// runPodOfTwo starts a pod with two sleeping containers and returns
// the pod's and the containers' IDs.
func (e *env) runPodOfTwo(ctx context.Context, name string) (string, []string) {
	e.t.Helper()
	pc := podConfig(name, filepath.Join(e.dir, "pods", name))
	pod := e.runPod(ctx, pc)
	var ctrs []string
	for _, n := range []string{"a", "b"} {
		cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc,
			Config: e.ctrConfig(n, "echo started-"+n+"; exec sleep 1000")})
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
			e.t.Fatal(err)
		}
		ctrs = append(ctrs, cr.ContainerId)
	}
	return pod, ctrs
}

// oneShim checks the env's berthd has exactly one shim and returns it.
func (e *env) oneShim() int {
	e.t.Helper()
	pids := e.shimPids()
	if len(pids) != 1 {
		e.t.Fatalf("shim processes %v, want exactly one for the pod", pids)
	}
	return pids[0]
}

// ctrState returns a container's state and message (the engine's exit
// reason).
func (e *env) ctrState(ctx context.Context, id string) (runtimeapi.ContainerState, string) {
	e.t.Helper()
	cs, err := e.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs.Status.State, cs.Status.Message
}

// TestPodHasOneShimAcrossRestart: a pod of pause and two containers has
// exactly one shim process; after berthd's SIGKILL and a new berthd,
// both containers are found running in that same shim and answer
// ExecSync; removing the pod ends the shim and leaves nothing.
func TestPodHasOneShimAcrossRestart(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pod, ctrs := e.runPodOfTwo(ctx, "shared")
	shimPid := e.oneShim()

	if err := e.berthd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = e.berthd.Wait()
	_ = e.conn.Close()
	e.start()
	if got := e.oneShim(); got != shimPid {
		t.Fatalf("shim %d after berthd's restart, want the pod's %d", got, shimPid)
	}
	ps, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("pod after berthd's restart: %v, %v", ps, err)
	}
	for i, id := range ctrs {
		if st, _ := e.ctrState(ctx, id); st != runtimeapi.ContainerState_CONTAINER_RUNNING {
			t.Fatalf("container %d after berthd's restart: %v", i, st)
		}
		r, err := e.rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sh", "-c", "hostname"}, Timeout: 30})
		if err != nil || r.ExitCode != 0 || strings.TrimSpace(string(r.Stdout)) != "shared-host" {
			t.Fatalf("ExecSync in container %d after the restart: %v, %v", i, r, err)
		}
	}
	if _, err := e.rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: ctrs[0], Timeout: 1}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.ctrState(ctx, ctrs[1]); st != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("the other container after one stopped: %v", st)
	}
	e.oneShim()
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	waitNoShim(t, e)
	e.nothingLeft()
}

// TestPodShimDeathExitsAll: when a pod's shim dies, the sandbox and
// both containers are reported exited with reason "shim died", and the
// pod's removal leaves nothing (their processes killed, directories
// gone).
func TestPodShimDeathExitsAll(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pod, ctrs := e.runPodOfTwo(ctx, "doomed")
	if err := syscall.Kill(e.oneShim(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i, id := range ctrs {
		var st runtimeapi.ContainerState
		var reason string
		for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(50 * time.Millisecond) {
			if st, reason = e.ctrState(ctx, id); st == runtimeapi.ContainerState_CONTAINER_EXITED {
				break
			}
		}
		if st != runtimeapi.ContainerState_CONTAINER_EXITED || !strings.Contains(reason, "shim died") {
			t.Fatalf("container %d after its shim's death: %v %q, want exited for shim died", i, st, reason)
		}
	}
	var ps *runtimeapi.PodSandboxStatusResponse
	var err error
	for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(50 * time.Millisecond) {
		ps, err = e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
		if err != nil || ps.Status.State == runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
			break
		}
	}
	if err != nil || ps.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("pod after its shim's death: %v, %v", ps, err)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}

// waitNoShim waits until the env's berthd has no shim left.
func waitNoShim(t *testing.T, e *env) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(20 * time.Millisecond) {
		if len(e.shimPids()) == 0 {
			return
		}
	}
	t.Fatalf("shims left: %v", e.shimPids())
}
