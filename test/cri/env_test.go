package cri_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

var bin string // the repository's bin/

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	bin = filepath.Join(filepath.Dir(file), "..", "..", "bin")
	syscall.Umask(0o022)
	os.Exit(m.Run())
}

// env is a berthd on a temporary root with its own default network, a
// registry holding busybox (ref), and CRI clients on its socket.
type env struct {
	t      *testing.T
	dir    string
	sock   string
	bridge string
	ref    string
	reg    *registrytest.Registry
	bb     *registrytest.Image // the image ref names
	extra  string              // more of berthd's configuration, set before start
	berthd *exec.Cmd
	conn   *grpc.ClientConn
	rt     runtimeapi.RuntimeServiceClient
	img    runtimeapi.ImageServiceClient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, "")
}

// newEnvWith is newEnv with extra put at the start of berthd's
// configuration file (top-level keys and tables).
func newEnvWith(t *testing.T, extra string) *env {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"berthd", "berth-shim", "berth-runtime", "berth-init", "berth-pause"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("no %s (run make build): %v", b, err)
		}
	}
	dir := t.TempDir()
	testutil.CheckNetLeaks(t, filepath.Join(dir, "state", "network"))
	reg := registrytest.Start(t, registrytest.Options{})
	bb := reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	e := &env{t: t, dir: dir, sock: filepath.Join(dir, "state", "cri.sock"), ref: reg.Host + "/test/busybox:v1", reg: reg, bb: bb, extra: extra}
	e.start()
	t.Cleanup(e.cleanup)
	return e
}

// config writes berthd's configuration: a default network of its own
// (bridge and subnet), so that tests never share one.
func (e *env) config() string {
	p := filepath.Join(e.dir, "berthd.toml")
	if e.bridge != "" {
		return p // a restart keeps its network
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.bridge = fmt.Sprintf("bc%x", b)
	cfg := e.extra + fmt.Sprintf("[network]\ndefault_bridge = %q\ndefault_subnet = \"10.%d.%d.0/24\"\n", e.bridge, 210+int(b[0])%40, b[1])
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start runs berthd and connects to its CRI socket.
func (e *env) start() {
	e.t.Helper()
	conf := filepath.Join(e.dir, "berthd.toml")
	if e.bridge == "" { // a restart keeps the network
		conf = e.config()
	}
	cmd := exec.Command(filepath.Join(bin, "berthd"), "--root", filepath.Join(e.dir, "root"), "--state", filepath.Join(e.dir, "state"),
		"--address", filepath.Join(e.dir, "berthd.sock"), "--config", conf)
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
	if e.conn, err = grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		e.t.Fatal(err)
	}
	e.rt, e.img = runtimeapi.NewRuntimeServiceClient(e.conn), runtimeapi.NewImageServiceClient(e.conn)
	for range 1000 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = e.rt.Version(ctx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "berthd.log"))
	e.t.Fatalf("the CRI socket does not answer: %v\n%s", err, log)
}

// cleanup removes every pod left, stops berthd and removes the default
// network it made, by its exact name.
func (e *env) cleanup() {
	if e.berthd == nil {
		return
	}
	ctx := context.Background()
	if pods, err := e.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
		for _, p := range pods.Items {
			_, _ = e.rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id})
		}
	}
	_ = e.conn.Close()
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	e.berthd = nil
	if _, err := os.Stat(e.sock); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("the CRI socket is left after berthd stopped: %v", err)
	}
	conf := filepath.Join(e.dir, "root", "network", "net.d")
	if _, err := os.Stat(filepath.Join(conf, "bridge.conflist")); err != nil {
		return
	}
	m, err := network.New(network.Options{StateDir: filepath.Join(e.dir, "state", "network"), ConfDir: conf, DefaultBridge: e.bridge})
	if err != nil {
		e.t.Errorf("remove the default network: %v", err)
		return
	}
	if err := m.Remove(ctx, "bridge"); err != nil && !errors.Is(err, network.ErrNotFound) {
		e.t.Errorf("remove the default network: %v", err)
	}
}

// ctx bounds one test's calls.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e.t.Cleanup(cancel)
	return ctx
}

// nothingLeft checks berthd holds no container, bundle, shim directory
// (a container's or a pod's) or log directory.
func (e *env) nothingLeft() {
	e.t.Helper()
	for _, glob := range []string{"state/containers/*/*", "state/s/*", "state/p/*", "root/containers/*/*", "state/network/netns/*"} {
		m, _ := filepath.Glob(filepath.Join(e.dir, glob))
		for _, p := range m {
			var names []string
			if ents, err := os.ReadDir(p); err == nil {
				for _, ent := range ents {
					names = append(names, ent.Name())
				}
			}
			e.t.Errorf("left behind: %s (holding %v)", p, names)
		}
	}
}
