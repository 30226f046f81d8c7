package daemon_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
)

// faultProxy sits in front of a registry: it can throttle or corrupt blob
// bodies and records Range requests and blob bytes served.
type faultProxy struct {
	host      string
	throttle  atomic.Bool
	corrupt   atomic.Bool
	ranges    atomic.Int32
	blobBytes atomic.Int64
}

// pullPast starts `berth pull ref` and returns once the proxy has served
// n blob bytes, failing the test if the pull ends first (before what the
// test does next, the kill or the stop); the channel gets its result.
func pullPast(t *testing.T, td *testDaemon, p *faultProxy, ref string, n int64, what string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := td.berth(t, "pull", ref); done <- err }()
	for p.blobBytes.Load() < n {
		select {
		case err := <-done:
			t.Fatalf("pull ended before the %s: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return done
}

func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, _ := url.Parse(target)
	p := &faultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/blobs/") || resp.Request.Method != http.MethodGet {
			return nil
		}
		if p.corrupt.Load() && resp.StatusCode == 200 {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if len(b) > 64<<10 { // layers only: the config passes
				b[len(b)/2] ^= 0x55
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
		resp.Body = &countingBody{rc: resp.Body, p: p}
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Header.Get("Range") != "" {
			p.ranges.Add(1)
		}
		rp.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.host = l.Addr().String()
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return p
}

type countingBody struct {
	rc io.ReadCloser
	p  *faultProxy
}

func (c *countingBody) Read(b []byte) (int, error) {
	if c.p.throttle.Load() {
		if len(b) > 32<<10 {
			b = b[:32<<10]
		}
		time.Sleep(20 * time.Millisecond) // ≈ 1.6 MB/s
	}
	n, err := c.rc.Read(b)
	c.p.blobBytes.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

// bigImage is busybox plus a layer of incompressible data.
func bigImage(t *testing.T, size int) *registrytest.Image {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	bb, err := registrytest.BusyboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	img, err := registrytest.BuildImage([][]registrytest.Entry{bb, {{Name: "big.bin", Data: data}}}, registrytest.ImageOptions{Compression: registrytest.Uncompressed})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestCorruptBlobRejectedThroughDaemon(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/bb", "v1", registrytest.Gzip, false)
	p := startFaultProxy(t, reg.URL())
	p.corrupt.Store(true)
	td := startDaemon(t, nil)
	_, err := td.berth(t, "pull", p.host+"/test/bb:v1")
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("want corrupt blob error, got %v", err)
	}
	if out := td.ok(t, "images", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("image recorded after corrupt pull: %s", out)
	}
	ents, _ := os.ReadDir(filepath.Join(td.cfg.Root, "content", "blobs", "sha256"))
	for _, e := range ents {
		if e.Name() == img.Layers[0].Digest.Encoded() {
			t.Fatal("corrupt layer stored")
		}
	}
	p.corrupt.Store(false)
	td.ok(t, "pull", p.host+"/test/bb:v1")
}

// buildBerthd compiles berthd for tests that must kill it.
func buildBerthd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berthd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berth-dev/berth/cmd/berthd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build berthd: %v\n%s", err, out)
	}
	return bin
}

func startBerthd(t *testing.T, bin, dir string) *exec.Cmd {
	t.Helper()
	sock := filepath.Join(dir, "berthd.sock")
	cmd := exec.Command(bin, "--root", filepath.Join(dir, "root"), "--state", filepath.Join(dir, "state"), "--address", sock, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "cfg"))
	logf, err := os.OpenFile(filepath.Join(dir, "berthd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	td := &testDaemon{}
	td.cfg.Address = sock
	for i := 0; i < 500; i++ {
		if _, err := td.berth(t, "version"); err == nil {
			return cmd
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	log, _ := os.ReadFile(filepath.Join(dir, "berthd.log"))
	t.Fatalf("berthd did not create %s:\n%s", sock, log)
	return nil
}

func TestKilledPullResumes(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	bin := buildBerthd(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := bigImage(t, 12<<20)
	reg.PushImage(t, "test/big", "v1", img)
	p := startFaultProxy(t, reg.URL())
	p.throttle.Store(true)
	dir := t.TempDir()
	td := &testDaemon{}
	td.cfg.Address = filepath.Join(dir, "berthd.sock")
	ref := p.host + "/test/big:v1"

	first := startBerthd(t, bin, dir)
	pullDone := pullPast(t, td, p, ref, 3<<20, "kill")
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if err := <-pullDone; err == nil {
		t.Fatal("pull succeeded although berthd was killed")
	}
	served := p.blobBytes.Load()

	p.throttle.Store(false)
	second := startBerthd(t, bin, dir)
	stopped := false
	defer func() {
		if !stopped {
			_ = second.Process.Kill()
			_ = second.Wait()
		}
	}()
	td.ok(t, "pull", ref)
	if p.ranges.Load() == 0 {
		t.Fatal("the second pull sent no Range request")
	}
	total := img.Layers[0].Size + img.Layers[1].Size + img.Config.Size
	if again := p.blobBytes.Load() - served; again >= total {
		t.Fatalf("resumed pull downloaded %d bytes again (image blobs total %d)", again, total)
	}
	if out := td.ok(t, "images"); !strings.Contains(out, p.host+"/test/big") {
		t.Fatalf("image missing:\n%s", out)
	}
	td.ok(t, "rmi", ref)
	if out := td.ok(t, "info"); !strings.Contains(out, "0 blobs") {
		t.Fatalf("store inconsistent after rmi:\n%s", out)
	}
	// SIGTERM stops it cleanly and removes the socket.
	stopped = true
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("berthd exit after SIGTERM: %v", err)
	}
	if _, err := os.Stat(td.cfg.Address); !os.IsNotExist(err) {
		t.Fatalf("socket left after a clean stop: %v", err)
	}
}

func TestConcurrentPullsOfOneImage(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := bigImage(t, 2<<20)
	reg.PushImage(t, "test/big", "v1", img)
	p := startFaultProxy(t, reg.URL())
	p.throttle.Store(true) // keep the downloads overlapping
	td := startDaemon(t, nil)
	ref := p.host + "/test/big:v1"
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := td.berth(t, "pull", "-q", ref); errs <- err }()
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent pull: %v", err)
		}
	}
	total := img.Layers[0].Size + img.Layers[1].Size
	if p.blobBytes.Load() > total+img.Config.Size+1024 {
		t.Fatalf("blobs downloaded %d bytes for %d: downloads were not coalesced", p.blobBytes.Load(), total)
	}
	// Another namespace gets the blobs without downloading them again.
	before := p.blobBytes.Load()
	td.ok(t, "-n", "berth-test-other", "pull", "-q", ref)
	if p.blobBytes.Load() != before {
		t.Fatalf("pull in a second namespace downloaded %d bytes again", p.blobBytes.Load()-before)
	}
	for _, ns := range []string{"default", "berth-test-other"} {
		if out := td.ok(t, "-n", ns, "images", "-q"); len(strings.Fields(out)) != 1 {
			t.Fatalf("%s: %q", ns, out)
		}
	}
}

func TestGracefulStopDuringPullResumes(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := bigImage(t, 6<<20)
	reg.PushImage(t, "test/big", "v1", img)
	p := startFaultProxy(t, reg.URL())
	p.throttle.Store(true)
	dir := t.TempDir()
	edit := func(c *daemon.Config) {
		c.Root, c.State, c.Address = filepath.Join(dir, "root"), filepath.Join(dir, "state"), filepath.Join(dir, "berthd.sock")
	}
	cfg := daemon.DefaultConfig()
	edit(&cfg)
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve() }()
	td := &testDaemon{cfg: cfg}
	ref := p.host + "/test/big:v1"
	pullDone := pullPast(t, td, p, ref, 2<<20, "stop")
	d.Stop(5 * time.Second)
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := <-pullDone; err == nil {
		t.Fatal("pull succeeded although berthd stopped")
	}
	p.throttle.Store(false)
	td2 := startDaemon(t, edit)
	td2.ok(t, "pull", ref)
	if p.ranges.Load() == 0 {
		t.Fatal("the pull after a graceful stop sent no Range request")
	}
}
