package dockerapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
)

var bin string // the repository's bin/

// dockerCLI is the Docker CLI the tests drive (28.x, API 1.50).
const dockerCLI = "/usr/local/bin/docker"

// cliTimeout bounds one CLI call: a hang fails the test.
const cliTimeout = 2 * time.Minute

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	bin = filepath.Join(filepath.Dir(file), "..", "..", "bin")
	syscall.Umask(0o022)
	os.Exit(m.Run())
}

// env is a berthd on a temporary root with its own default network, a
// registry holding busybox (ref) and the Docker API's socket.
type env struct {
	t      *testing.T
	dir    string
	sock   string // the Docker API's
	grpc   string // berthd's own
	bridge string
	ref    string
	reg    *registrytest.Registry
	berthd *exec.Cmd
	http   *http.Client
	// networks are the networks a test may make, removed by their exact
	// names when it ends should it not have removed them.
	networks []string
	// args are berthd's arguments beyond the env's own.
	args []string
}

// newEnv starts a berthd with args added to its command line.
func newEnv(t *testing.T, args ...string) *env {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"berthd", "berth", "berth-shim", "berth-runtime", "berth-init"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("no %s (run make build): %v", b, err)
		}
	}
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("no Docker CLI: %v", err)
	}
	dir := t.TempDir()
	testutil.CheckNetLeaks(t, filepath.Join(dir, "state", "network"))
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	e := &env{t: t, dir: dir, sock: filepath.Join(dir, "docker.sock"), grpc: filepath.Join(dir, "berthd.sock"),
		ref: reg.Host + "/test/busybox:v1", reg: reg, args: args}
	e.http = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	if err := os.MkdirAll(filepath.Join(dir, "docker-config"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.start()
	t.Cleanup(e.cleanup)
	return e
}

// config writes berthd's configuration: a default network of its own.
func (e *env) config() string {
	p := filepath.Join(e.dir, "berthd.toml")
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.bridge = fmt.Sprintf("bd%x", b)
	cfg := fmt.Sprintf("[network]\ndefault_bridge = %q\ndefault_subnet = \"10.%d.%d.0/24\"\n[cri]\ndisabled = true\n", e.bridge, 210+int(b[0])%40, b[1])
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start runs berthd and waits for the Docker API's /_ping.
func (e *env) start() {
	e.t.Helper()
	args := append([]string{"--root", filepath.Join(e.dir, "root"), "--state", filepath.Join(e.dir, "state"),
		"--address", e.grpc, "--docker-address", e.sock, "--config", e.config()}, e.args...)
	cmd := exec.Command(filepath.Join(bin, "berthd"), args...)
	cmd.Env = append(os.Environ(), "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9")
	logf, err := os.OpenFile(filepath.Join(e.dir, "berthd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.berthd = cmd
	for range 1000 {
		if resp, err := e.http.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "berthd.log"))
	e.t.Fatalf("the Docker API socket does not answer\n%s", log)
}

// cleanup removes every container left, stops berthd and removes the
// default network it made and the test's networks, by their exact names.
func (e *env) cleanup() {
	if e.berthd == nil {
		return
	}
	if out, _, code := e.docker("ps", "-aq"); code == 0 {
		for _, id := range strings.Fields(out) {
			e.docker("rm", "-f", id)
		}
	}
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	e.berthd = nil
	if _, err := os.Stat(e.sock); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("the Docker API socket is left after berthd stopped: %v", err)
	}
	if e.t.Failed() {
		log, _ := os.ReadFile(filepath.Join(e.dir, "berthd.log"))
		e.t.Logf("berthd's log:\n%s", log)
	}
	conf := filepath.Join(e.dir, "root", "network", "net.d")
	var left []string
	for _, n := range append(e.networks, "bridge") {
		if _, err := os.Stat(filepath.Join(conf, n+".conflist")); err == nil {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		return
	}
	m, err := network.New(network.Options{StateDir: filepath.Join(e.dir, "state", "network"), ConfDir: conf, DefaultBridge: e.bridge})
	if err != nil {
		e.t.Errorf("remove the networks %v: %v", left, err)
		return
	}
	for _, n := range left {
		if err := m.Remove(context.Background(), n); err != nil && !errors.Is(err, network.ErrNotFound) {
			e.t.Errorf("remove network %s: %v", n, err)
		}
	}
}

// run runs a command with the test's environment: the Docker API's
// socket, a private Docker config, a dead proxy.
func (e *env) run(name string, stdin io.Reader, args ...string) (string, string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	cmd.Env = e.cliEnv()
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("%s %v hung (killed after %s); stdout %q, stderr %q", name, args, cliTimeout, out.String(), errb.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		e.t.Fatalf("%s %v: %v", name, args, err)
	}
	return out.String(), errb.String(), 0
}

// cliEnv is the clients' environment: the Docker API's socket, a
// private Docker config, a dead proxy.
func (e *env) cliEnv() []string {
	return append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+filepath.Join(e.dir, "docker-config"),
		"BERTH_ADDRESS="+e.grpc, "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=", "DOCKER_CLI_HINTS=false")
}

// docker runs the Docker CLI against berthd.
func (e *env) docker(args ...string) (string, string, int) {
	e.t.Helper()
	return e.run(dockerCLI, nil, args...)
}

// ok runs the Docker CLI and fails the test unless it exits 0; it
// returns stdout, trimmed.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.docker(args...)
	if code != 0 {
		e.t.Fatalf("docker %v: exit %d; stdout %q, stderr %q", args, code, out, errs)
	}
	return strings.TrimSpace(out)
}

// request sends a raw API request and returns the status and body.
func (e *env) request(method, path, body string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, "http://docker"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// nothingLeft checks berthd holds no container, bundle, shim directory,
// log directory or netns.
func (e *env) nothingLeft() {
	e.t.Helper()
	if out := e.ok("ps", "-aq"); out != "" {
		e.t.Errorf("containers left: %q", out)
	}
	for _, glob := range []string{"state/containers/*/*", "state/s/*", "root/containers/*/*", "state/network/netns/*"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, _ := filepath.Glob(filepath.Join(e.dir, glob))
			if len(m) == 0 {
				break
			}
			if time.Now().After(deadline) {
				e.t.Errorf("left behind: %v", m)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// fails runs the Docker CLI, which must exit non-zero with a one-line
// error containing want (the CLI's rm commands add "exit status 1"
// after their errors); it returns stderr.
func (e *env) fails(want string, args ...string) string {
	e.t.Helper()
	out, stderr, code := e.docker(args...)
	msg := strings.TrimSuffix(strings.TrimSpace(stderr), "\nexit status 1")
	if code == 0 || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		e.t.Errorf("docker %v: exit %d, stdout %q, stderr %q; want a one-line error with %q", args, code, out, stderr, want)
	}
	return stderr
}
