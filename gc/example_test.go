package gc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/gc"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/overlay"
)

// Example shows how the engine wires the stores: a pull runs under a
// lease, writes blobs through the namespaced content store, unpacks into
// the namespaced snapshotter, labels the config with its top chain ID,
// records the image last and drops the lease; after rmi, Collect removes
// what only that image used.
func Example() {
	root, _ := os.MkdirTemp("", "berth-test-example-")
	defer os.RemoveAll(root)
	ctx := context.Background()

	cs, _ := local.NewStore(filepath.Join(root, "content"))
	ov, _ := overlay.New(filepath.Join(root, "snapshots", "overlay"))
	defer ov.Close()
	db, _ := metadata.Open(filepath.Join(root, "meta.db"), cs, map[string]snapshot.Snapshotter{"overlay": ov})
	defer db.Close()

	const ns = "default"
	leases := db.Leases(ns)
	_, _ = leases.Create(ctx, "pull-1", time.Now().Add(time.Hour), nil)
	pctx := metadata.WithLease(ctx, "pull-1")
	store := db.NamespacedContent(ns)

	put := func(mediaType string, data []byte, labels map[string]string) ocispec.Descriptor {
		d := digest.FromBytes(data)
		_ = content.WriteBlob(pctx, store, d.String(), bytes.NewReader(data), int64(len(data)), d, labels)
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
	}
	layer := put(ocispec.MediaTypeImageLayer, []byte("layer tar"), nil)
	diffID := layer.Digest // an uncompressed layer is its own diff ID

	// Unpack: prepare, archive.ApplyToMounts(..., layer stream), commit
	// under the chain ID.
	sn, _ := db.NamespacedSnapshotter(ns, "overlay")
	chain := snapshot.ChainID([]digest.Digest{diffID})
	_, _ = sn.Prepare(pctx, "extract-1", "", nil)
	_ = sn.Commit(pctx, chain.String(), "extract-1", nil)

	cfgData, _ := json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}}})
	cfg := put(ocispec.MediaTypeImageConfig, cfgData, map[string]string{gc.LabelRefSnapshot + "overlay": chain.String()})
	mfData, _ := json.Marshal(ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	mf := put(ocispec.MediaTypeImageManifest, mfData, nil)

	_, _ = db.Images(ns).Create(ctx, metadata.Image{Name: "example.com/app:1", Target: mf})
	_ = leases.Delete(ctx, "pull-1")

	st, _ := gc.Collect(ctx, db)
	fmt.Println("with the image:", st.BlobsDeleted, "blobs and", st.SnapshotsRemoved, "snapshots collected")

	_ = db.Images(ns).Delete(ctx, "example.com/app:1")
	st, _ = gc.Collect(ctx, db)
	fmt.Println("after rmi:", st.BlobsDeleted, "blobs and", st.SnapshotsRemoved, "snapshots collected")
	// Output:
	// with the image: 0 blobs and 0 snapshots collected
	// after rmi: 3 blobs and 1 snapshots collected
}
