package streaming

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network"
)

// ns is the engine namespace the tests' server serves.
const ns = "k8s.io"

// env is an engine in process with the repository's shim and runtime, a
// busybox image from a loopback registry, an internal network of its
// own and a started streaming server. Everything it made is removed
// when the test ends, and the test fails if anything is left.
type env struct {
	t      *testing.T
	e      *engine.Engine
	srv    *Server
	image  string
	dir    string
	net    string // the internal network's name
	bridge string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(filepath.Dir(file), "..", "..", "bin")
	for _, b := range []string{"berth-shim", "berth-runtime"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("no %s (run make build): %v", b, err)
		}
	}
	dir := t.TempDir()
	testutil.CheckNetLeaks(t, filepath.Join(dir, "state", "network"))
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/busybox", "v1", registrytest.Gzip, false)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	v := &env{t: t, dir: dir, image: reg.Host + "/test/busybox:v1", bridge: fmt.Sprintf("bs%x", b), net: fmt.Sprintf("snet%x", b)}
	e, err := engine.New(t.Context(), engine.Config{
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Registry:   engine.RegistryConfig{CertsDir: filepath.Join(dir, "certs.d")},
		ShimBinary: filepath.Join(bin, "berth-shim"),
		Runtimes:   map[string]string{engine.DefaultRuntime: filepath.Join(bin, "berth-runtime")},
		GCDelay:    -1,
		Network: engine.NetworkConfig{DefaultBridge: v.bridge,
			DefaultSubnet: fmt.Sprintf("10.%d.%d.0/24", 210+int(b[0])%40, b[1])},
	})
	if err != nil {
		t.Fatal(err)
	}
	v.e = e
	t.Cleanup(v.cleanup)
	if _, err := e.Pull(t.Context(), ns, v.image, engine.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(e, ns, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	v.srv = srv
	return v
}

// run creates and starts a container (on no network unless netName),
// removed when the test ends.
func (v *env) run(cfg container.Config) engine.Container {
	v.t.Helper()
	cfg.Image = v.image
	if cfg.NetworkMode == "" {
		cfg.NetworkMode = "none"
	}
	c, err := v.e.CreateContainer(v.t.Context(), ns, cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	if err := v.e.StartContainer(v.t.Context(), ns, c.ID); err != nil {
		v.t.Fatal(err)
	}
	return c
}

// network makes the env's internal network (no route out: traffic
// stays between its namespaces and the host's bridge address).
func (v *env) network() string {
	v.t.Helper()
	if _, err := v.e.CreateNetwork(v.t.Context(), network.NetworkConfig{Name: v.net, Internal: true}); err != nil {
		v.t.Skipf("no container networking: %v", err)
	}
	return v.net
}

// cleanup stops the server, removes every container, closes the engine
// and removes the networks it made by their exact names.
func (v *env) cleanup() {
	ctx := context.Background()
	if v.srv != nil {
		if err := v.srv.Stop(); err != nil {
			v.t.Errorf("stop: %v", err)
		}
	}
	list, _ := v.e.Containers(ctx, ns, true)
	for _, c := range list {
		if err := v.e.RemoveContainer(ctx, ns, c.ID, engine.RemoveOptions{Force: true}); err != nil {
			v.t.Errorf("remove %s: %v", c.Name, err)
		}
	}
	_ = v.e.Close()
	m, err := network.New(network.Options{StateDir: filepath.Join(v.dir, "state", "network"),
		ConfDir: filepath.Join(v.dir, "root", "network", "net.d"), DefaultBridge: v.bridge})
	if err != nil {
		return
	}
	for _, n := range []string{v.net, "bridge"} {
		if err := m.Remove(ctx, n); err != nil && !errors.Is(err, network.ErrNotFound) {
			v.t.Errorf("remove network %s: %v", n, err)
		}
	}
}

func execOpts(cmd []string) engine.ExecOptions {
	return engine.ExecOptions{ExecConfig: container.ExecConfig{Cmd: cmd}}
}
