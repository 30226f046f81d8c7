package cri_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// crictlBin is crictl of kubernetes-sigs/cri-tools as hack/cri-tools.sh
// builds it (hack/test.sh exports CRI_TOOLS_BIN).
func crictlBin(t *testing.T) string {
	dir := os.Getenv("CRI_TOOLS_BIN")
	if dir == "" {
		dir = "/tmp/berth-test-cri-tools/bin"
	}
	p := filepath.Join(dir, "crictl")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no crictl (build it with hack/cri-tools.sh): %v", err)
	}
	return p
}

// crictl runs crictl with the env's configuration file and args, as a
// user does once /etc/crictl.yaml names berthd's socket.
type crictl struct {
	t    *testing.T
	bin  string
	conf string
}

func (e *env) crictl(t *testing.T) *crictl {
	conf := filepath.Join(e.dir, "crictl.yaml")
	yaml := "runtime-endpoint: unix://" + e.sock + "\nimage-endpoint: unix://" + e.sock + "\ntimeout: 30\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &crictl{t: t, bin: crictlBin(t), conf: conf}
}

func (c *crictl) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--config", c.conf}, args...)...)
	cmd.Env = append(os.Environ(), "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=")
	return cmd
}

// ok runs crictl and returns its trimmed stdout; a failure fails the test.
func (c *crictl) ok(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := c.cmd(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("crictl %s: %v: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// pty runs crictl with args on a terminal of its own; it returns what the
// terminal showed once crictl ended, after typing input.
func (c *crictl) pty(input string, args ...string) string {
	c.t.Helper()
	master, slave := testutil.OpenPty(c.t, 24, 80)
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, master) // until EIO, once crictl ends
		close(done)
	}()
	if _, err := master.WriteString(input); err != nil {
		c.t.Fatal(err)
	}
	err := cmd.Wait()
	<-done
	if ctx.Err() != nil {
		c.t.Fatalf("crictl %s hung: %q", strings.Join(args, " "), out.String())
	}
	if err != nil {
		c.t.Logf("crictl %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// TestCrictlWalkthrough follows the seeds' crictl walk-through against
// berthd's socket, named in a crictl configuration file: pull, runp (with
// runsc when it runs here, as the seeds do), create, start, inspectp,
// inspect, stop, rm, stopp, rmp; and, on the way, the rest of what a
// user of crictl does: version, info, images, imagefsinfo, pods, ps,
// exec -s and -it, logs and logs -f, attach, port-forward, stats,
// statsp, rmi. Nothing is left.
func TestCrictlWalkthrough(t *testing.T) {
	cfg, handlers := handlerConfig(t)
	e := newEnvWith(t, cfg)
	c := e.crictl(t)
	handler := handlers[len(handlers)-1] // runsc if it runs here, else runc

	if v := c.ok("version"); !strings.Contains(v, "RuntimeName:  berth") || !strings.Contains(v, "RuntimeApiVersion:  v1") {
		t.Errorf("crictl version: %q", v)
	}
	var info struct {
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status bool   `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.ok("info")), &info); err != nil || len(info.Status.Conditions) != 2 {
		t.Errorf("crictl info: %v %+v", err, info)
	}
	for _, cond := range info.Status.Conditions {
		if !cond.Status {
			t.Errorf("crictl info: %s is false", cond.Type)
		}
	}
	if out := c.ok("pull", e.ref); !strings.Contains(out, "Image is up to date for sha256:") {
		t.Errorf("crictl pull: %q", out)
	}
	if out := c.ok("images"); !strings.Contains(out, e.reg.Host+"/test/busybox") || !strings.Contains(out, "v1") {
		t.Errorf("crictl images: %q", out)
	}
	if out := c.ok("imagefsinfo"); !strings.Contains(out, "usedBytes") {
		t.Errorf("crictl imagefsinfo: %q", out)
	}

	// The seeds' sandbox.json and container.json, with a local image and
	// a busybox web server for nginx, and logs in the test's directory.
	logDir := filepath.Join(e.dir, "pods", "walk")
	sandbox := filepath.Join(e.dir, "sandbox.json")
	writeJSON(t, sandbox, map[string]any{
		"metadata":      map[string]any{"name": "nginx-sandbox", "namespace": "default", "attempt": 1, "uid": "hdishd83djaidwnduwk28bcsb"},
		"linux":         map[string]any{},
		"log_directory": logDir,
	})
	container := filepath.Join(e.dir, "container.json")
	writeJSON(t, container, map[string]any{
		"metadata": map[string]any{"name": "nginx"},
		"image":    map[string]any{"image": e.ref},
		"command":  []string{"sh", "-c", "echo walk > /tmp/index.html; echo started; exec httpd -f -v -p 80 -h /tmp"},
		"log_path": "nginx.0.log",
		"linux":    map[string]any{},
	})
	pod := c.ok("runp", "--runtime", handler, sandbox)
	ctr := c.ok("create", pod, container, sandbox)
	c.ok("start", ctr)
	if out := c.ok("pods", "-q"); out != pod {
		t.Errorf("crictl pods -q: %q; want %s", out, pod)
	}
	if out := c.ok("ps", "--state", "running", "-q"); out != ctr {
		t.Errorf("crictl ps -q: %q; want %s", out, ctr)
	}
	var podInfo struct {
		Status struct {
			State          string `json:"state"`
			RuntimeHandler string `json:"runtimeHandler"`
			Network        struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.ok("inspectp", pod)), &podInfo); err != nil || podInfo.Status.State != "SANDBOX_READY" ||
		podInfo.Status.RuntimeHandler != handler || podInfo.Status.Network.IP == "" {
		t.Errorf("crictl inspectp: %v %+v", err, podInfo)
	}
	var ctrInfo struct {
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.ok("inspect", ctr)), &ctrInfo); err != nil || ctrInfo.Status.State != "CONTAINER_RUNNING" {
		t.Errorf("crictl inspect: %v %+v", err, ctrInfo)
	}

	if out := c.ok("exec", "-s", ctr, "echo", "hi"); out != "hi" {
		t.Errorf("crictl exec -s: %q", out)
	}
	if out := c.pty("echo $((6*7))\nexit\n", "exec", "-it", ctr, "sh"); !strings.Contains(out, "42") {
		t.Errorf("crictl exec -it: the terminal shows %q", out)
	}
	if out := c.ok("logs", ctr); !strings.Contains(out, "started") {
		t.Errorf("crictl logs: %q", out)
	}
	follow := c.follow("logs", "-f", ctr)
	follow.waitFor(t, "started")

	fw := c.follow("port-forward", pod, ":80")
	line := fw.waitFor(t, "Forwarding from 127.0.0.1:")
	port := regexp.MustCompile(`127\.0\.0\.1:(\d+)`).FindStringSubmatch(line)
	if port == nil {
		t.Fatalf("crictl port-forward: %q", line)
	}
	if got := httpGet(t, "http://127.0.0.1:"+port[1]+"/index.html"); got != "walk\n" {
		t.Errorf("through crictl port-forward: %q", got)
	}
	fw.stop()

	if out := c.ok("stats", "-o", "json", ctr); !strings.Contains(out, ctr) || !strings.Contains(out, "workingSetBytes") {
		t.Errorf("crictl stats: %q", out)
	}
	if out := c.ok("statsp", "-o", "json", pod); !strings.Contains(out, pod) || !strings.Contains(out, "workingSetBytes") {
		t.Errorf("crictl statsp: %q", out)
	}

	// attach: a container with a terminal and stdin, as `kubectl attach
	// -it` uses one.
	shell := filepath.Join(e.dir, "shell.json")
	writeJSON(t, shell, map[string]any{
		"metadata": map[string]any{"name": "shell"},
		"image":    map[string]any{"image": e.ref},
		"command":  []string{"sh"},
		"stdin":    true, "tty": true,
		"log_path": "shell.0.log",
		"linux":    map[string]any{},
	})
	sh := c.ok("create", pod, shell, sandbox)
	c.ok("start", sh)
	if out := c.pty("echo attached-$((2*21))\nexit\n", "attach", "-it", sh); !strings.Contains(out, "attached-42") {
		t.Errorf("crictl attach -it: the terminal shows %q", out)
	}

	// The seeds' clean-up.
	c.ok("stop", ctr)
	follow.wait(t) // logs -f ends with the container
	c.ok("rm", ctr)
	c.ok("stop", sh)
	c.ok("rm", sh)
	c.ok("stopp", pod)
	c.ok("rmp", pod)
	if out := c.ok("pods", "-q"); out != "" {
		t.Errorf("crictl pods after rmp: %q", out)
	}
	c.ok("rmi", e.ref)
	if out := c.ok("images", "-q"); out != "" {
		t.Errorf("crictl images after rmi: %q", out)
	}
	e.nothingLeft()
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// following is a long-running crictl (logs -f, port-forward) whose
// output lines are read as they come.
type following struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	lines  chan string
}

func (c *crictl) follow(args ...string) *following {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	f := &following{cmd: c.cmd(ctx, args...), cancel: cancel, lines: make(chan string, 100)}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	f.cmd.Stderr = f.cmd.Stdout
	if err := f.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		defer close(f.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
	}()
	c.t.Cleanup(f.stop)
	return f
}

// waitFor returns the first line holding s; it fails the test if the
// command ends first.
func (f *following) waitFor(t *testing.T, s string) string {
	t.Helper()
	var seen []string
	for l := range f.lines {
		if strings.Contains(l, s) {
			return l
		}
		seen = append(seen, l)
	}
	t.Fatalf("crictl %s ended without %q: %q", strings.Join(f.cmd.Args[3:], " "), s, seen)
	return ""
}

// wait waits for the command to end by itself.
func (f *following) wait(t *testing.T) {
	t.Helper()
	for range f.lines {
	}
	if err := f.cmd.Wait(); err != nil {
		t.Errorf("crictl %s: %v", strings.Join(f.cmd.Args[3:], " "), err)
	}
}

func (f *following) stop() {
	f.cancel()
	if f.cmd.ProcessState == nil {
		_ = f.cmd.Wait()
	}
}
