package daemon_test

import (
	"context"
	"strings"
	"testing"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// assertBlobAbsent fails if td's default namespace holds dgst.
func (td *testDaemon) assertBlobAbsent(t *testing.T, dgst string) {
	t.Helper()
	conn := td.conn(t)
	if _, err := apiv1.NewContentClient(conn).Info(context.Background(), &apiv1.ContentInfoRequest{Digest: dgst}); status.Code(err) != codes.NotFound {
		t.Fatalf("refused blob %s stored: %v", dgst, err)
	}
}

// TestPullRefusesLayerWithoutSize: a manifest on a real registry whose
// layer descriptor declares size 0 or a negative size is refused before
// the layer is fetched, and the layer is not stored.
func TestPullRefusesLayerWithoutSize(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/lie", "v1", registrytest.Gzip, false)
	td := startDaemon(t, nil)
	for _, size := range []int64{0, -1} {
		img.Layers[0].Size = size
		if _, err := registrytest.RebuildManifest(img); err != nil {
			t.Fatal(err)
		}
		if err := reg.PushManifest("test/lie", "lie", img.Manifest); err != nil {
			t.Fatal(err)
		}
		err := td.pullAPI(t, reg.Host+"/test/lie:lie")
		if status.Code(err) != codes.InvalidArgument || (size == 0 && !strings.Contains(err.Error(), "is not positive")) {
			t.Fatalf("layer of declared size %d: want InvalidArgument, got %v", size, err)
		}
		td.assertBlobAbsent(t, img.Layers[0].Digest.String())
	}
}

// TestMaxLayerSizeFromConfig: registry.max_layer_size_mb caps the size a
// layer may declare; a larger layer is refused and not stored.
func TestMaxLayerSizeFromConfig(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img, err := registrytest.BuildImage([][]registrytest.Entry{{{Name: "big", Mode: 0o644, Data: make([]byte, 2<<20)}}}, registrytest.ImageOptions{Compression: registrytest.Uncompressed})
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/big", "v1", img)
	td := startDaemon(t, func(c *daemon.Config) { c.Registry.MaxLayerSizeMB = 1 })
	err = td.pullAPI(t, reg.Host+"/test/big:v1")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "exceeds the 1048576-byte limit for a layer") {
		t.Fatalf("pull of a 2 MiB layer under a 1 MiB cap: want InvalidArgument naming the limit, got %v", err)
	}
	td.assertBlobAbsent(t, img.Layers[0].Digest.String())
}
