package distribution_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// lyingRegistry answers every manifest, blob and /foreign/ request with
// body, whatever was asked for, and counts those requests.
type lyingRegistry struct {
	body          []byte
	contentLength bool // announce the length (else stream it chunked)
	requests      atomic.Int32
}

func (l *lyingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" {
		return
	}
	if !strings.Contains(r.URL.Path, "/blobs/") && !strings.Contains(r.URL.Path, "/manifests/") && !strings.HasPrefix(r.URL.Path, "/foreign/") {
		http.NotFound(w, r)
		return
	}
	l.requests.Add(1)
	if l.contentLength {
		w.Header().Set("Content-Length", strconv.Itoa(len(l.body)))
	}
	_, _ = w.Write(l.body[:1])
	w.(http.Flusher).Flush()
	_, _ = w.Write(l.body[1:])
}

func startLying(t *testing.T, body []byte, contentLength bool) (*lyingRegistry, string) {
	t.Helper()
	l := &lyingRegistry{body: body, contentLength: contentLength}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return l, strings.TrimPrefix(srv.URL, "http://")
}

// assertNothingStored fails if s holds a blob or an ingest.
func assertNothingStored(t *testing.T, s content.Store) {
	t.Helper()
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
	if st, err := s.ListStatuses(context.Background()); err != nil || len(st) != 0 {
		t.Errorf("ingests left: %+v %v", st, err)
	}
}

// TestFetchRefusesUnusableSizes: a descriptor of any kind whose size is 0,
// negative or over its kind's limit is refused before any request reaches
// the registry, and nothing is stored.
func TestFetchRefusesUnusableSizes(t *testing.T) {
	body := make([]byte, 64<<10)
	dg := digest.FromBytes(body)
	for _, tc := range []struct {
		name      string
		mediaType string
		size      int64
	}{
		{"layer size 0", ocispec.MediaTypeImageLayerGzip, 0},
		{"layer negative size", ocispec.MediaTypeImageLayerGzip, -1},
		{"config size 0", ocispec.MediaTypeImageConfig, 0},
		{"manifest size 0", ocispec.MediaTypeImageManifest, 0},
		{"index negative size", ocispec.MediaTypeImageIndex, -5},
		{"docker list size 0", manifest.MediaTypeDockerManifestList, 0},
		{"manifest over the document limit", ocispec.MediaTypeImageManifest, manifest.MaxSize + 1},
		{"config over the document limit", manifest.MediaTypeDockerConfig, manifest.MaxSize + 1},
		{"layer over the configured limit", ocispec.MediaTypeImageLayer, 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, host := startLying(t, body, false)
			c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: t.TempDir()}, Retries: -1, MaxLayerSize: 1024})
			ref, _ := reference.Parse(host + "/test/lie:v1")
			s := newStore(t)
			desc := ocispec.Descriptor{MediaType: tc.mediaType, Digest: dg, Size: tc.size}
			err := c.FetchToStore(context.Background(), s, ref, desc, nil, nil)
			if !errors.Is(err, manifest.ErrBadSize) {
				t.Fatalf("want manifest.ErrBadSize, got %v", err)
			}
			if n := reg.requests.Load(); n != 0 {
				t.Errorf("%d requests for content reached the registry", n)
			}
			assertNothingStored(t, s)
		})
	}
}

// TestFetchDeclaredSizeIsHardCap: a registry (or a foreign layer's URL)
// that sends more than the descriptor declares, streamed or announced in
// Content-Length, is refused with ErrBadSize and nothing is stored, even
// though the first declared bytes match the digest.
func TestFetchDeclaredSizeIsHardCap(t *testing.T) {
	body := make([]byte, 4<<20)
	for i := range body {
		body[i] = byte(i)
	}
	const declared = 1000
	for _, tc := range []struct {
		name          string
		contentLength bool
		foreign       bool
	}{
		{"streamed", false, false},
		{"announced", true, false},
		{"foreign URL streamed", false, true},
		{"foreign URL announced", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, host := startLying(t, body, tc.contentLength)
			c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: t.TempDir()}, Retries: -1})
			ref, _ := reference.Parse(host + "/test/lie:v1")
			s := newStore(t)
			desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(body[:declared]), Size: declared}
			if tc.foreign {
				desc.MediaType = manifest.MediaTypeDockerForeignLayer
				desc.URLs = []string{"http://" + host + "/foreign/layer"}
			}
			err := c.FetchToStore(context.Background(), s, ref, desc, nil, nil)
			if !errors.Is(err, manifest.ErrBadSize) {
				t.Fatalf("want manifest.ErrBadSize, got %v", err)
			}
			if reg.requests.Load() == 0 {
				t.Fatal("the registry was never asked")
			}
			assertNothingStored(t, s)
		})
	}
}
