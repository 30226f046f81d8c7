package images_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
)

// foreignImage is a busybox image whose one layer is non-distributable,
// served at url and not pushed to the registry. extra makes the layer
// (and so its digest) differ between images of one test.
func foreignImage(t *testing.T, url, extra string) *registrytest.Image {
	t.Helper()
	entries, err := registrytest.BusyboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	entries = append(entries, registrytest.Entry{Name: "etc/which", Data: []byte(extra)})
	img, err := registrytest.BuildImage([][]registrytest.Entry{entries}, registrytest.ImageOptions{Compression: registrytest.Gzip, Docker: true})
	if err != nil {
		t.Fatal(err)
	}
	img.Layers[0].MediaType = manifest.MediaTypeDockerForeignLayer
	img.Layers[0].URLs = []string{url}
	if img, err = registrytest.RebuildManifest(img); err != nil {
		t.Fatal(err)
	}
	return img
}

// Non-distributable layers: skipped unless allowed, with an error saying
// so; when allowed, fetched from the URLs of their descriptor (before the
// registry, which need not hold them), verified like any blob.
func TestForeignLayers(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	ctx := context.Background()
	var hits atomic.Int64
	blobs := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := blobs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	reg := registrytest.Start(t, registrytest.Options{AllowURLs: []string{`^http://127\.0\.0\.1`}})
	push := func(tag string, img *registrytest.Image, withLayer bool) {
		t.Helper()
		blobs := []registrytest.Blob{img.Config}
		if withLayer {
			blobs = append(blobs, img.Layers[0])
		}
		for _, b := range blobs {
			if err := reg.PushBlob("test/foreign", b); err != nil {
				t.Fatal(err)
			}
		}
		if err := reg.PushManifest("test/foreign", tag, img.Manifest); err != nil {
			t.Fatal(err)
		}
	}

	good := foreignImage(t, srv.URL+"/good", "good")
	blobs["/good"] = good.Layers[0].Data
	push("good", good, false)
	e := newEnv(t, "overlay")
	ref := reg.Host + "/test/foreign:good"

	_, err := e.puller.Pull(ctx, ref, images.PullOptions{})
	if !errors.Is(err, distribution.ErrForeignLayer) {
		t.Fatalf("pull of a foreign layer not allowed: %v, want ErrForeignLayer", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the layer's URL was fetched %d times though foreign layers are not allowed", hits.Load())
	}

	res, err := e.puller.Pull(ctx, ref, images.PullOptions{AllowForeign: true})
	if err != nil {
		t.Fatalf("pull with foreign layers allowed: %v", err)
	}
	if hits.Load() == 0 {
		t.Fatal("the layer did not come from its URL")
	}
	if _, err := e.sn.Stat(ctx, res.ChainID.String()); err != nil {
		t.Fatalf("no snapshot for the unpacked foreign layer: %v", err)
	}

	// Pushed elsewhere, the image goes without its foreign layer, as
	// with Docker: the manifest still names its URLs.
	stored, err := e.imgs.Get(ctx, "default", ref)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := reference.Parse(reg.Host + "/test/copy:good")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.puller.Client.Push(ctx, e.puller.Content, dst, stored.Target, nil); err != nil {
		t.Fatalf("push of an image with a foreign layer: %v", err)
	}
	resp, err := reg.Client.Head(reg.URL() + "/v2/test/copy/blobs/" + good.Layers[0].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the foreign layer was pushed (HEAD: %s)", resp.Status)
	}
	if _, err := e.puller.Pull(ctx, reg.Host+"/test/copy:good", images.PullOptions{AllowForeign: true}); err != nil {
		t.Fatalf("pull of the pushed copy: %v", err)
	}

	// A URL serving other bytes: rejected, nothing stored.
	bad := foreignImage(t, srv.URL+"/bad", "bad")
	blobs["/bad"] = good.Layers[0].Data
	push("bad", bad, false)
	_, err = e.puller.Pull(ctx, reg.Host+"/test/foreign:bad", images.PullOptions{AllowForeign: true})
	if !errors.Is(err, distribution.ErrCorruptBlob) {
		t.Fatalf("pull of a corrupt foreign layer: %v, want ErrCorruptBlob", err)
	}
	if _, err := e.puller.Content.Info(ctx, bad.Layers[0].Digest); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("corrupt foreign layer stored: %v", err)
	}

	// A URL that does not serve it, with the registry holding it: the
	// registry is the fallback.
	gone := foreignImage(t, srv.URL+"/gone", "gone")
	push("gone", gone, true)
	if _, err := e.puller.Pull(ctx, reg.Host+"/test/foreign:gone", images.PullOptions{AllowForeign: true}); err != nil {
		t.Fatalf("pull with the URL gone and the registry holding the layer: %v", err)
	}
}
