package cri_test

import (
	"bytes"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestStreamingThroughBerthd: berthd's CRI hands out Exec URLs of its
// own streaming server, which kubectl's SPDY and WebSocket clients use to
// run a command in a pod's container (stdin, stdout, stderr, exit code);
// nothing is left after.
func TestStreamingThroughBerthd(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx()
	e.pull(ctx)
	pc := podConfig("ps1", filepath.Join(e.dir, "pods", "ps1"))
	pod := e.runPod(ctx, pc)
	cfg := e.ctrConfig("sh", "echo $GREETING; exec sleep 1000")
	cr, err := e.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod, SandboxConfig: pc, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		t.Fatal(err)
	}
	executors := map[string]func(u string) (remotecommand.Executor, error){
		"spdy": func(u string) (remotecommand.Executor, error) {
			pu, err := url.Parse(u)
			if err != nil {
				return nil, err
			}
			return remotecommand.NewSPDYExecutor(&rest.Config{}, "POST", pu)
		},
		"websocket": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(&rest.Config{}, "GET", u)
		},
	}
	for name, newExec := range executors {
		t.Run(name, func(t *testing.T) {
			r, err := e.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: cr.ContainerId,
				Cmd: []string{"sh", "-c", "read l; echo out:$l; echo err:$GREETING >&2; exit 3"}, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Url, "http://") {
				t.Errorf("Exec URL %q has no scheme", r.Url)
			}
			ex, err := newExec(r.Url)
			if err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("hi\n"), Stdout: &out, Stderr: &errOut})
			var code utilexec.CodeExitError
			if !errors.As(err, &code) || code.Code != 3 {
				t.Errorf("exec's end: %v, want exit code 3", err)
			}
			if out.String() != "out:hi\n" || errOut.String() != "err:hello\n" {
				t.Errorf("exec's output: %q, %q", out.String(), errOut.String())
			}
		})
	}
	if _, err := e.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: pod}); err != nil {
		t.Fatal(err)
	}
	e.nothingLeft()
}
