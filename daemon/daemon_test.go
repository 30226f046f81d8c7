package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/cli"
	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type testDaemon struct {
	d    *daemon.Daemon
	cfg  daemon.Config
	done chan error
}

// startDaemon runs berthd in-process with everything under t.TempDir().
func startDaemon(t *testing.T, edit func(*daemon.Config)) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "home-config"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker-config"))
	cfg := daemon.DefaultConfig()
	cfg.Root = filepath.Join(dir, "root")
	cfg.State = filepath.Join(dir, "state")
	cfg.Address = filepath.Join(dir, "berthd.sock")
	cfg.Registry.ConfigPath = filepath.Join(dir, "certs.d")
	if edit != nil {
		edit(&cfg)
	}
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	td := &testDaemon{d: d, cfg: cfg, done: make(chan error, 1)}
	go func() { td.done <- d.Serve() }()
	t.Cleanup(func() {
		d.Stop(5 * time.Second)
		if err := <-td.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return td
}

// conn dials the daemon's socket with a raw gRPC client, closed when the
// test ends.
func (td *testDaemon) conn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+td.cfg.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// berth runs the CLI against the daemon and returns stdout and the
// explained error.
func (td *testDaemon) berth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return td.berthIn(t, nil, args...)
}

func (td *testDaemon) berthIn(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	root := cli.NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	if stdin != nil {
		root.SetIn(bytes.NewReader(stdin))
	}
	root.SetArgs(append([]string{"--address", td.cfg.Address}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		return out.String(), errors.New(cli.Explain(err))
	}
	return out.String(), nil
}

// ok runs the CLI and fails the test on error.
func (td *testDaemon) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, err := td.berth(t, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (td *testDaemon) okIn(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, err := td.berthIn(t, stdin, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestPullListInspectTagRmiGCNamespaces(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	idx, err := registrytest.MultiPlatformIndex(false)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushIndex(t, "test/multi", "v1", idx)
	ml, err := registrytest.MultiLayerImage(registrytest.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/ml", "latest", ml)
	td := startDaemon(t, nil)

	// Only arm64 pulled: the list describes that platform.
	td.ok(t, "-n", "berth-test-arm", "pull", "--platform", "linux/arm64/v8", reg.Host+"/test/multi:v1")
	if out := td.ok(t, "-n", "berth-test-arm", "images"); !strings.Contains(out, idx.Manifests[1].Config.Digest.Encoded()[:12]) {
		t.Fatalf("arm64-only image should show the arm64 config id:\n%s", out)
	}
	td.ok(t, "-n", "berth-test-arm", "rmi", reg.Host+"/test/multi:v1")

	// pull -q prints the digest
	out := td.ok(t, "pull", "-q", reg.Host+"/test/multi:v1")
	if strings.TrimSpace(out) != idx.Index.Digest.String() {
		t.Fatalf("pull -q printed %q", out)
	}
	// by digest, another platform
	td.ok(t, "pull", "--platform", "linux/arm64", reg.Host+"/test/ml@"+ml.Manifest.Digest.String())
	_, err = td.berth(t, "pull", "--platform", "linux/s390x", reg.Host+"/test/multi:v1")
	if err == nil || !strings.Contains(err.Error(), "linux/arm64/v8") || !strings.Contains(err.Error(), "--platform") {
		t.Fatalf("want platform list and advice, got %v", err)
	}
	_, err = td.berth(t, "pull", reg.Host+"/test/nothere:v1")
	if err == nil || !strings.Contains(err.Error(), "manifest unknown") {
		t.Fatalf("want manifest unknown, got %v", err)
	}
	td.ok(t, "pull", reg.Host+"/test/ml")

	out = td.ok(t, "images")
	if !strings.HasPrefix(out, "REPOSITORY") || !strings.Contains(out, reg.Host+"/test/multi") || !strings.Contains(out, "v1") {
		t.Fatalf("images table:\n%s", out)
	}
	amdCfg := idx.Manifests[0].Config.Digest.Encoded()[:12]
	if !strings.Contains(out, amdCfg) {
		t.Fatalf("images should show the amd64 config id %s:\n%s", amdCfg, out)
	}
	out = td.ok(t, "images", "--digests")
	if !strings.Contains(out, idx.Index.Digest.String()) {
		t.Fatalf("--digests:\n%s", out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(td.ok(t, "images", "--format", "json")), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("json rows: %v %v", err, rows)
	}
	out = td.ok(t, "inspect", reg.Host+"/test/multi:v1")
	if !strings.Contains(out, `"platform": "amd64"`) {
		t.Fatalf("inspect shows no config labels:\n%s", out)
	}
	td.ok(t, "tag", reg.Host+"/test/multi:v1", "berth-test/alias:two")
	out = td.ok(t, "images", "-q")
	if len(strings.Fields(out)) != 2 {
		t.Fatalf("images -q should list 2 distinct ids:\n%s", out)
	}

	// another namespace sees nothing
	out = td.ok(t, "-n", "berth-test-other", "images", "-q")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("namespace leak:\n%s", out)
	}
	if _, err := td.berth(t, "-n", "berth-test-other", "inspect", reg.Host+"/test/ml"); err == nil {
		t.Fatal("image visible from another namespace")
	}
	td.ok(t, "namespace", "create", "berth-test-ns2")
	if out := td.ok(t, "namespace", "ls"); !strings.Contains(out, "berth-test-ns2") {
		t.Fatalf("namespace ls:\n%s", out)
	}
	td.ok(t, "namespace", "rm", "berth-test-ns2")
	if _, err := td.berth(t, "namespace", "rm", "default"); err == nil {
		t.Fatal("removed a non-empty namespace")
	}

	// rmi everything: GC leaves an empty store
	for _, n := range []string{reg.Host + "/test/multi:v1", "berth-test/alias:two", reg.Host + "/test/ml@" + ml.Manifest.Digest.String(), reg.Host + "/test/ml"} {
		td.ok(t, "rmi", n)
	}
	if out := td.ok(t, "gc"); !strings.Contains(out, "removed 0 blobs") {
		t.Fatalf("rmi should already have collected: %s", out)
	}
	out = td.ok(t, "info")
	if !strings.Contains(out, "0 blobs") {
		t.Fatalf("content left after rmi:\n%s", out)
	}
	n := 0
	ents, _ := os.ReadDir(filepath.Join(td.cfg.Root, "snapshots", "overlay", "snapshots"))
	n = len(ents)
	if n != 0 {
		t.Fatalf("%d snapshot dirs left", n)
	}
	td.ok(t, "version")
}

func TestLoginAuthTLSAndPush(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{Username: "berth", Password: "s3cret", TLS: true})
	reg.PushBusybox(t, "test/bb", "v1", registrytest.Gzip, true)
	td := startDaemon(t, nil)
	ref := reg.Host + "/test/bb:v1"

	_, err := td.berth(t, "pull", ref)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want TLS verification failure, got %v", err)
	}
	hd := filepath.Join(td.cfg.Registry.ConfigPath, reg.Host)
	if err := os.MkdirAll(hd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hd, "hosts.toml"), []byte("server = \"https://"+reg.Host+"\"\nca = \""+reg.CAFile+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = td.berth(t, "pull", ref)
	if err == nil || !strings.Contains(err.Error(), "berth login "+reg.Host) {
		t.Fatalf("want unauthorized advice, got %v", err)
	}
	if _, err := td.berthIn(t, []byte("wrong\n"), "login", "-u", "berth", "--password-stdin", reg.Host); err == nil {
		t.Fatal("wrong password accepted")
	}
	td.okIn(t, []byte("s3cret\n"), "login", "-u", "berth", "--password-stdin", reg.Host)
	st, err := os.Stat(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "berth", "auth.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("auth file: %v %v", err, st)
	}
	td.ok(t, "pull", ref)
	td.ok(t, "push", ref, reg.Host+"/test/pushed:v2")
	td.ok(t, "rmi", ref)
	td.ok(t, "pull", reg.Host+"/test/pushed:v2")
	td.ok(t, "logout", reg.Host)
	if _, err := td.berth(t, "pull", reg.Host+"/test/pushed:v2"); err == nil {
		t.Fatal("pull after logout succeeded")
	}
}
