package daemon_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	if _, err := daemon.LoadConfig(p, false); err != nil {
		t.Fatalf("missing optional config: %v", err)
	}
	if _, err := daemon.LoadConfig(p, true); err == nil {
		t.Fatal("missing required config accepted")
	}
	if err := os.WriteFile(p, []byte("root = \"/x\"\n[registry]\ninsecure = [\"reg:5000\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := daemon.LoadConfig(p, true)
	if err != nil || cfg.Root != "/x" || cfg.State != "/run/berth" || len(cfg.Registry.Insecure) != 1 || cfg.Registry.MaxConcurrentDownloads != 4 {
		t.Fatalf("partial config: %v %+v", err, cfg)
	}
	if cfg.Registry.MaxLayerSizeMB != 64<<10 {
		t.Fatalf("default registry.max_layer_size_mb %d, want 64 GiB", cfg.Registry.MaxLayerSizeMB)
	}
	auths := "[registry]\nmax_layer_size_mb = 10\n[registry.auths.\"reg.example:5000\"]\nusername = \"u\"\npassword = \"p\"\n[registry.auths.\"docker.io\"]\nidentity_token = \"t\"\n"
	if err := os.WriteFile(p, []byte(auths), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = daemon.LoadConfig(p, true)
	if err != nil || cfg.Registry.MaxLayerSizeMB != 10 || cfg.Registry.Auths["reg.example:5000"] != (daemon.RegistryAuth{Username: "u", Password: "p"}) || cfg.Registry.Auths["docker.io"].IdentityToken != "t" {
		t.Fatalf("registry limits and auths: %v %+v", err, cfg.Registry)
	}
	rts := "[runtimes]\nrunc = \"/usr/sbin/runc\"\nrunsc = { path = \"/usr/bin/runsc\", args = [\"--network=host\"] }\n"
	if err := os.WriteFile(p, []byte(rts), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = daemon.LoadConfig(p, true)
	if err != nil || cfg.Runtimes["runc"].Path != "/usr/sbin/runc" || len(cfg.Runtimes["runc"].Args) != 0 ||
		cfg.Runtimes["runsc"].Path != "/usr/bin/runsc" || !slices.Equal(cfg.Runtimes["runsc"].Args, []string{"--network=host"}) {
		t.Fatalf("runtimes as paths and tables: %v %+v", err, cfg.Runtimes)
	}
	if err := os.WriteFile(p, []byte("[cri]\nsandbox_image = \"registry.k8s.io/pause:3.10\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = daemon.LoadConfig(p, true); err != nil || cfg.CRI.SandboxImage != "registry.k8s.io/pause:3.10" {
		t.Fatalf("cri.sandbox_image: %v %+v", err, cfg.CRI)
	}
	const dockerTLS = "tls_ca = \"/ca.pem\"\ntls_cert = \"/cert.pem\"\ntls_key = \"/key.pem\"\n"
	for _, good := range []string{"[docker]\ntcp_address = \"127.0.0.1:2376\"\n" + dockerTLS, "[docker]\ntcp_address = \"[::1]:2376\"\n" + dockerTLS} {
		if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := daemon.LoadConfig(p, true); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"rooot = \"/x\"\n",
		"[runtimes]\nrunc = 3\n", "[runtimes]\nrunsc = { args = [\"--x\"] }\n", "[runtimes]\nrunsc = { path = \"/x\", flags = [] }\n",
		"[runtimes]\nrunsc = { path = \"/x\", args = \"--x\" }\n", "[runtimes]\nrunsc = { path = \"/x\", args = [1] }\n", "snapshotter = \"zfs\"\n", "log_level = \"loud\"\n", "[debug]\naddress = \"0.0.0.0:1\"\n", "root = 3\n",
		"[registry]\nmax_layer_size_mb = 0\n", "[registry]\nmax_layer_size_mb = -1\n",
		"[registry.auths.\"reg\"]\nusername = \"u\"\n", "[registry.auths.\"https://reg/\"]\nusername = \"u\"\npassword = \"p\"\n",
		"[registry.auths.\"reg\"]\nusername = \"u\"\npassword = \"p\"\nidentity_token = \"t\"\n", "[registry.auths.\"reg\"]\nuser = \"u\"\n",
		"[docker]\ntcp_address = \"127.0.0.1:2376\"\n", "[docker]\ntcp_address = \"127.0.0.1:2376\"\ntls_ca = \"/ca.pem\"\ntls_cert = \"/cert.pem\"\n",
		"[docker]\ntcp_address = \"0.0.0.0:2376\"\n" + dockerTLS, "[docker]\ntcp_address = \"localhost:2376\"\n" + dockerTLS, "[docker]\ntcp_address = \"127.0.0.1\"\n" + dockerTLS,
		"[docker]\n" + dockerTLS,
		"[cri]\nsandbox_image = \"Pause:3.10\"\n", "[cri]\nsandbox_image = \"pause:3.10\"\npause_binary = \"/usr/bin/berth-pause\"\n"} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := daemon.LoadConfig(p, true); !errors.Is(err, daemon.ErrBadConfig) {
			t.Errorf("%q: want ErrBadConfig, got %v", bad, err)
		}
	}
	var sb strings.Builder
	if err := daemon.DefaultConfig().WriteTOML(&sb); err != nil || !strings.Contains(sb.String(), "max_concurrent_downloads = 4") {
		t.Fatalf("default config: %v\n%s", err, sb.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestSecondDaemonRefusedMetricsAndEvents(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	metrics := freeAddr(t)
	td := startDaemon(t, func(c *daemon.Config) { c.Metrics.Address = metrics })
	st, err := os.Stat(td.cfg.Address)
	if err != nil || st.Mode().Perm() != 0o660 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode: %v %v", err, st.Mode())
	}
	cfg2 := td.cfg
	cfg2.Address = filepath.Join(t.TempDir(), "other.sock")
	cfg2.Metrics.Address = ""
	if _, err := daemon.New(cfg2, nil); !errors.Is(err, daemon.ErrAlreadyRunning) {
		t.Fatalf("second daemon on the same state: %v", err)
	}

	conn := td.conn(t)
	ctx, cancel := context.WithTimeout(api.WithNamespace(context.Background(), "default"), 30*time.Second)
	defer cancel()
	events, err := apiv1.NewEventsClient(conn).Subscribe(ctx, &apiv1.SubscribeRequest{Topics: []string{"/images/"}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Start(t, registrytest.Options{})
	reg.PushBusybox(t, "test/bb", "v1", registrytest.Zstd, false)
	// Subscriptions register asynchronously: pull until an event arrives.
	got := make(chan *apiv1.Envelope, 1)
	go func() {
		if ev, err := events.Recv(); err == nil {
			got <- ev
		}
	}()
	var ev *apiv1.Envelope
	for ev == nil {
		td.ok(t, "pull", reg.Host+"/test/bb:v1")
		select {
		case ev = <-got:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ev.GetTopic() != "/images/create" || ev.GetAttributes()["name"] != reg.Host+"/test/bb:v1" {
		t.Fatalf("event: %v", ev)
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, own := range []string{"process_resident_memory_bytes ", "process_cpu_seconds_total ", "go_goroutines "} {
		if !strings.Contains(string(b), "\n"+own) {
			t.Errorf("metrics lack berthd's %s", own)
		}
	}
	if !strings.Contains(string(b), "berth_pulled_bytes_total") || !strings.Contains(string(b), `berth_grpc_requests_total{code="OK",method="/berth.v1.Transfer/Pull"}`) {
		t.Fatalf("metrics:\n%s", b)
	}
}

func TestContentAndSnapshotsAPIPerNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/bb", "v1", registrytest.Gzip, false)
	td := startDaemon(t, nil)
	td.ok(t, "pull", reg.Host+"/test/bb:v1")
	conn := td.conn(t)
	cc := apiv1.NewContentClient(conn)
	sc := apiv1.NewSnapshotsClient(conn)
	ctx := api.WithNamespace(context.Background(), "default")
	other := api.WithNamespace(context.Background(), "berth-test-other")

	list, err := cc.List(ctx, &emptypb.Empty{})
	if err != nil || len(list.GetBlobs()) != 3 {
		t.Fatalf("content list: %v %d", err, len(list.GetBlobs()))
	}
	if l, err := cc.List(other, &emptypb.Empty{}); err != nil || len(l.GetBlobs()) != 0 {
		t.Fatalf("other namespace sees content: %v %v", err, l)
	}
	stream, err := cc.Read(ctx, &apiv1.ReadContentRequest{Digest: img.Config.Digest.String()})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.GetData()...)
	}
	if string(got) != string(img.Config.Data) {
		t.Fatalf("read config: %q", got)
	}
	if _, err := cc.Info(other, &apiv1.ContentInfoRequest{Digest: img.Config.Digest.String()}); status.Code(err) != codes.NotFound {
		t.Fatalf("info from another namespace: %v", err)
	}
	snaps, err := sc.List(ctx, &emptypb.Empty{})
	if err != nil || len(snaps.GetSnapshots()) != 1 || snaps.GetSnapshots()[0].GetName() != img.DiffIDs[0].String() {
		t.Fatalf("snapshots: %v %v", err, snaps)
	}
	u, err := sc.Usage(ctx, &apiv1.SnapshotUsageRequest{Key: img.DiffIDs[0].String()})
	if err != nil || u.GetSize() <= 0 {
		t.Fatalf("usage: %v %v", err, u)
	}
	if s, err := sc.List(other, &emptypb.Empty{}); err != nil || len(s.GetSnapshots()) != 0 {
		t.Fatalf("other namespace sees snapshots: %v %v", err, s)
	}
}
