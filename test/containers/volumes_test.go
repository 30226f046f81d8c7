package containers_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// create makes a container of cfg through the API (for what the CLI's
// flags do not reach) and returns its ID.
func (e *env) create(cfg container.Config) string {
	e.t.Helper()
	id, err := e.tryCreate(cfg)
	if err != nil {
		e.t.Fatalf("create %+v: %v", cfg, err)
	}
	return id
}

func (e *env) tryCreate(cfg container.Config) (string, error) {
	e.t.Helper()
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	raw, _ := json.Marshal(cfg)
	ctx := api.WithNamespace(context.Background(), api.DefaultNamespace)
	info, err := apiv1.NewContainersClient(conn).Create(ctx, &apiv1.CreateContainerRequest{Config: raw})
	return info.GetId(), err
}

// noVolumes checks berthd holds no volume.
func (e *env) noVolumes() {
	e.t.Helper()
	if out := e.ok("volume", "ls", "-q"); out != "" {
		e.t.Errorf("volumes left: %s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, "root", "volumes", "*")); len(m) > 0 {
		e.t.Errorf("volume directories left: %v", m)
	}
}

// TestNamedVolumePersists: what one `run --rm` writes to a named volume
// the next one reads; the volume outlives both and then goes with
// `volume rm`.
func TestNamedVolumePersists(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "--rm", "-v", "keep:/data", e.ref, "sh", "-c", "echo kept > /data/f")
	if out := e.ok("run", "--rm", "-v", "keep:/data", e.ref, "cat", "/data/f"); out != "kept\n" {
		t.Fatalf("second container read %q", out)
	}
	if out := e.ok("volume", "ls", "-q"); out != "keep\n" {
		t.Fatalf("volume ls -q: %q", out)
	}
	e.ok("volume", "rm", "keep")
	e.nothingLeft()
	e.noVolumes()
}

// TestAnonymousVolumeRemovedByRmV: `-v /data` makes an anonymous
// volume, refused by `volume rm` while the container exists and removed
// by `rm -v`.
func TestAnonymousVolumeRemovedByRmV(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	id := e.create(container.Config{Image: e.ref, Cmd: []string{"true"}, Mounts: []container.Mount{{Type: "volume", Target: "/data"}}})
	name := strings.TrimSpace(e.ok("volume", "ls", "-q"))
	if len(name) != 64 {
		t.Fatalf("volume ls -q: %q, want one anonymous volume", name)
	}
	e.fails(1, "volume is in use", "volume", "rm", name)
	e.ok("rm", "-v", id)
	e.nothingLeft()
	e.noVolumes()
}

// TestImageVolumeCopiedUp: an image's VOLUME becomes an anonymous volume
// filled with what the image has there; `run --rm` removes it.
func TestImageVolumeCopiedUp(t *testing.T) {
	e := newEnv(t)
	entries, err := registrytest.BusyboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	entries = append(entries,
		registrytest.Entry{Name: "data/", Type: tar.TypeDir, Mode: 0o755},
		registrytest.Entry{Name: "data/hello", Mode: 0o644, Data: []byte("from the image\n")})
	img, err := registrytest.BuildImage([][]registrytest.Entry{entries}, registrytest.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Config.Data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Config.Volumes = map[string]struct{}{"/data": {}}
	data, _ := json.Marshal(cfg)
	img.Config = registrytest.Blob{MediaType: img.Config.MediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
	if img, err = registrytest.RebuildManifest(img); err != nil {
		t.Fatal(err)
	}
	e.reg.PushImage(t, "test/volume", "v1", img)
	ref := e.reg.Host + "/test/volume:v1"

	if out := e.ok("run", "--rm", ref, "sh", "-c", "cat /data/hello; echo more > /data/x"); out != "from the image\n" {
		t.Fatalf("run: %q", out)
	}
	e.noVolumes()
	// A named volume over the same path is filled the same way and kept.
	e.ok("run", "--rm", "-v", "named:/data", ref, "true")
	got, err := os.ReadFile(filepath.Join(e.dir, "root", "volumes", "named", "_data", "hello"))
	if err != nil || string(got) != "from the image\n" {
		t.Fatalf("named volume's hello: %q, %v", got, err)
	}
	e.ok("volume", "rm", "named")
	e.nothingLeft()
	e.noVolumes()
}

// TestInitIsPID1: with init the reaper is PID 1, runs the command and
// passes its exit code through.
func TestInitIsPID1(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat(filepath.Join(bin, "berth-reaper")); err != nil {
		t.Skipf("no berth-reaper (run make build): %v", err)
	}
	e.ok("pull", e.ref)
	id := e.create(container.Config{Image: e.ref, Init: true, Cmd: []string{"sh", "-c", "cat /proc/1/cmdline; exit 7"}})
	out, errs, code := e.berth("start", "-a", id)
	if want := "/sbin/berth-reaper\x00--\x00sh\x00-c\x00"; code != 7 || !strings.HasPrefix(out, want) {
		t.Fatalf("start -a: exit %d, stdout %q, stderr %q; want exit 7 and %q first", code, out, errs, want)
	}
	e.ok("rm", id)
	e.nothingLeft()
}

// TestFailedCreateLeavesNoVolume: a create that fails after making its
// volumes (a bad mount target) removes them; a volume that existed stays.
func TestFailedCreateLeavesNoVolume(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	e.ok("volume", "create", "--label", "a=b", "old")
	_, err := e.tryCreate(container.Config{Image: e.ref, Cmd: []string{"true"}, Mounts: []container.Mount{
		{Type: "volume", Source: "fresh", Target: "/a"}, {Type: "volume", Source: "old", Target: "/b"},
		{Type: "volume", Target: "/c"}, {Type: "tmpfs", Target: "relative"},
	}})
	if err == nil || !strings.Contains(err.Error(), "relative") {
		t.Fatalf("create: %v, want an error about the relative target", err)
	}
	if out := e.ok("volume", "ls", "-q"); out != "old\n" {
		t.Fatalf("volume ls -q: %q, want only old", out)
	}
	var info []map[string]any
	if err := json.Unmarshal([]byte(e.ok("volume", "inspect", "old")), &info); err != nil || len(info) != 1 || info[0]["UsedBy"] != nil {
		t.Fatalf("inspect old: %v, %v; want unused", info, err)
	}
	e.ok("volume", "create")
	if out := e.ok("volume", "prune", "-f"); !strings.HasPrefix(out, "Deleted Volumes:\n") {
		t.Fatalf("prune: %q", out)
	}
	e.ok("volume", "prune", "-f", "-a")
	e.nothingLeft()
	e.noVolumes()
}
