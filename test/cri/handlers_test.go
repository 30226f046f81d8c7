package cri_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/berth-dev/berth/internal/testutil"
)

// runscWorks says whether gVisor's runsc is installed and runs a
// container on this kernel: its path, or why not. It runs a command with
// the flags the test configures, in a private state directory.
//
// The flags: Debian's runsc (20221219) takes any network namespace with
// /proc/sys/net/core/rmem_default for the host's, which on Linux 6.x is
// every one, so its own netstack ("sandbox", the default) refuses to
// start in a pod's namespace; with --network=host the sandbox uses the
// network of the namespace it is started in, the pod's.
func runscWorks(t *testing.T) (string, error) {
	path, err := exec.LookPath("runsc")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, "--root", t.TempDir(), "--network=host", "do", "true").CombinedOutput()
	if err != nil {
		return "", &exec.Error{Name: path + " do true: " + strings.TrimSpace(string(out)), Err: err}
	}
	return path, nil
}

// handlerConfig is berthd's [runtimes] for runc, and for runsc when it
// runs here, and the handler names it gives.
func handlerConfig(t *testing.T) (cfg string, handlers []string) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed")
	}
	cfg = "[runtimes]\nrunc = \"" + runc + "\"\n"
	handlers = []string{"runc"}
	if runsc, err := runscWorks(t); err != nil {
		t.Logf("runsc is not tested: %v", err)
	} else {
		cfg += "runsc = { path = \"" + runsc + "\", args = [\"--network=host\"] }\n"
		handlers = append(handlers, "runsc")
	}
	return cfg, handlers
}

// TestRuntimeHandlers: the configured runtimes (a path, or a path with
// global flags) are listed as handlers; a pod run with a handler runs its
// sandbox and its containers with that runtime (runc's state directory
// holds them; under gVisor's runsc the container sees gVisor's kernel,
// not the host's), serves on the pod's address, answers ExecSync, and
// is stopped and removed leaving nothing (their cgroups, below the
// pods', included).
func TestRuntimeHandlers(t *testing.T) {
	// The runsc probe first: on a fresh machine `runsc do` makes
	// /run/netns a mount point of its own (once, as `ip netns` does),
	// which is the host's set-up, not a leak of this test.
	cfg, handlers := handlerConfig(t)
	testutil.CheckLeaks(t)
	e := newEnvWith(t, cfg)
	ctx := e.ctx()
	st, err := e.rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range st.RuntimeHandlers {
		names = append(names, h.Name)
	}
	for _, h := range handlers {
		if !slices.Contains(names, h) {
			t.Errorf("runtime handlers %q lack %s", names, h)
		}
	}
	e.pull(ctx)
	host, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range handlers {
		func() {
			pc := podConfig("h-"+h, filepath.Join(e.dir, "pods", h))
			r, err := e.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: pc, RuntimeHandler: h})
			if err != nil {
				t.Errorf("RunPodSandbox with handler %s: %v", h, err)
				return
			}
			pod := r.PodSandboxId
			ps, err := e.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: pod})
			if err != nil || ps.Status.RuntimeHandler != h {
				t.Errorf("PodSandboxStatus: handler %q, %v; want %s", ps.GetStatus().GetRuntimeHandler(), err, h)
			}
			t.Logf("%s: pod %s", h, pod)
			ctr := e.runCtr(ctx, pod, pc, e.ctrConfig("app", "echo $GREETING >/tmp/greeting; exec httpd -f -p 8080 -h /tmp"))
			t.Logf("%s: container %s", h, ctr)
			kernel := strings.TrimSpace(e.execOut(ctx, ctr, "uname -r"))
			switch h {
			case "runc":
				for _, id := range []string{pod, ctr} {
					if _, err := os.Stat(filepath.Join(e.dir, "state", "runtime", "runc", id, "state.json")); err != nil {
						t.Errorf("runc holds no state for %.12s: %v", id, err)
					}
				}
				if kernel != strings.TrimSpace(string(host)) {
					t.Errorf("a runc container sees kernel %q; want the host's %q", kernel, host)
				}
			case "runsc":
				if kernel == strings.TrimSpace(string(host)) {
					t.Errorf("a runsc container sees the host's kernel %q; want gVisor's", kernel)
				}
			}
			if got := e.execOut(ctx, ctr, "echo $GREETING"); got != "hello\n" {
				t.Errorf("ExecSync under %s: %q", h, got)
			}
			if got := httpGet(t, "http://"+net.JoinHostPort(ps.GetStatus().GetNetwork().GetIp(), "8080")+"/greeting"); got != "hello\n" {
				t.Errorf("the pod's server under %s answers %q", h, got)
			}
			e.removePod(ctx, pod)
		}()
	}
}

// httpGet returns the body at url, retrying while the server starts.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	var err error
	for range 100 {
		var resp *http.Response
		if resp, err = c.Get(url); err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				return string(b)
			}
			err = rerr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("GET %s: %v", url, err)
	return ""
}
