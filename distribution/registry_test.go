package distribution_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func newStore(t *testing.T) content.Store {
	t.Helper()
	s, err := local.NewStore(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countBlobs(t *testing.T, s content.Store) int {
	t.Helper()
	n := 0
	if err := s.Walk(context.Background(), func(content.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// fetchImage resolves ref, fetches the root, selects the platform and
// fetches manifest, config and layers.
func fetchImage(ctx context.Context, c *distribution.Client, s content.Store, ref string, plat ocispec.Platform) (ocispec.Descriptor, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	root, err := c.Resolve(ctx, r)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := root
	for {
		if err := c.FetchToStore(ctx, s, r, desc, nil, nil); err != nil {
			return ocispec.Descriptor{}, err
		}
		ra, err := s.ReaderAt(ctx, desc.Digest)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		b, _ := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
		ra.Close()
		p, err := manifest.Parse(desc.MediaType, b)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		if p.Index != nil {
			if desc, err = platforms.Select(p.Index, plat); err != nil {
				return ocispec.Descriptor{}, err
			}
			continue
		}
		for _, l := range append([]ocispec.Descriptor{p.Manifest.Config}, p.Manifest.Layers...) {
			if err := c.FetchToStore(ctx, s, r, l, nil, nil); err != nil {
				return ocispec.Descriptor{}, err
			}
		}
		return root, nil
	}
}

var amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}

func TestPullPlainMultiPlatformAndCompressions(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	idx, err := registrytest.MultiPlatformIndex(true)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushIndex(t, "test/multi", "latest", idx)
	for _, comp := range []registrytest.Compression{registrytest.Gzip, registrytest.Zstd, registrytest.Uncompressed} {
		img, err := registrytest.BusyboxImage(comp, false)
		if err != nil {
			t.Fatal(err)
		}
		reg.PushImage(t, "test/bb", comp.String(), img)
	}
	ctx := context.Background()
	c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: t.TempDir()}})
	s := newStore(t)
	root, err := fetchImage(ctx, c, s, reg.Host+"/test/multi", ocispec.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if root.Digest != idx.Index.Digest || root.MediaType != registrytest.DockerManifestList {
		t.Fatalf("resolved %+v", root)
	}
	if _, err := s.Info(ctx, idx.Manifests[1].Config.Digest); err != nil {
		t.Fatalf("arm64 config not fetched: %v", err)
	}
	_, err = fetchImage(ctx, c, s, reg.Host+"/test/multi", ocispec.Platform{OS: "linux", Architecture: "s390x"})
	if !errors.Is(err, platforms.ErrNoMatch) || !strings.Contains(err.Error(), "linux/arm64/v8") {
		t.Fatalf("want no matching platform listing arm64, got %v", err)
	}
	for _, comp := range []string{"gzip", "zstd", "uncompressed"} {
		if _, err := fetchImage(ctx, c, s, reg.Host+"/test/bb:"+comp, amd64); err != nil {
			t.Fatalf("%s: %v", comp, err)
		}
	}
	// by digest
	if _, err := fetchImage(ctx, c, s, reg.Host+"/test/multi@"+idx.Index.Digest.String(), amd64); err != nil {
		t.Fatalf("by digest: %v", err)
	}
	_, err = fetchImage(ctx, c, s, reg.Host+"/test/nothere:v1", amd64)
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
}

func TestAuthTLSAndPush(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{Username: "berth", Password: "secret", TLS: true})
	img, err := registrytest.MultiLayerImage(registrytest.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/ml", "v1", img)
	certs := t.TempDir()
	ctx := context.Background()

	// Without the CA, TLS fails.
	c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: certs}, Retries: -1})
	if _, err := fetchImage(ctx, c, newStore(t), reg.Host+"/test/ml:v1", amd64); err == nil {
		t.Fatal("untrusted registry accepted")
	}
	hd := filepath.Join(certs, reg.Host)
	if err := os.MkdirAll(hd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hd, "hosts.toml"), []byte(fmt.Sprintf("server = \"https://%s\"\nca = %q\n", reg.Host, reg.CAFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	c = distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: certs}})
	_, err = fetchImage(ctx, c, newStore(t), reg.Host+"/test/ml:v1", amd64)
	if !errors.Is(err, distribution.ErrUnauthorized) {
		t.Fatalf("want unauthorized without credentials, got %v", err)
	}
	authFile := filepath.Join(t.TempDir(), "auth.json")
	if err := credentials.SaveCredentials(authFile, reg.Host, credentials.Credentials{Username: "berth", Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	c = distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: certs}, Credentials: credentials.FileCredentials(authFile)})
	s := newStore(t)
	root, err := fetchImage(ctx, c, s, reg.Host+"/test/ml:v1", amd64)
	if err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	// Push it back under another name and pull that.
	ref, _ := reference.Parse(reg.Host + "/test/pushed:v2")
	var events int
	if err := c.Push(ctx, s, ref, root, func(distribution.Progress) { events++ }); err != nil {
		t.Fatalf("push: %v", err)
	}
	if events == 0 {
		t.Error("no push progress")
	}
	s2 := newStore(t)
	if _, err := fetchImage(ctx, c, s2, reg.Host+"/test/pushed:v2", amd64); err != nil {
		t.Fatalf("pull pushed: %v", err)
	}
	if countBlobs(t, s2) != 5 {
		t.Fatalf("want 5 blobs, got %d", countBlobs(t, s2))
	}
}

// proxy is a reverse proxy in front of a registry that can corrupt blobs,
// serve through a mirror path, and records Range requests.
type proxy struct {
	srv      *http.Server
	addr     string
	corrupt  atomic.Bool
	ranges   atomic.Int32
	requests atomic.Int32
}

func startProxy(t *testing.T, target string, prefix string) *proxy {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &proxy{}
	rp.ModifyResponse = func(resp *http.Response) error {
		if p.corrupt.Load() && strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.StatusCode == 200 {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if len(b) > 100 {
				b[len(b)/2] ^= 0xff
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Header.Get("Range") != "" {
			p.ranges.Add(1)
		}
		r.URL.Path = "/v2" + strings.TrimPrefix(r.URL.Path, prefix)
		rp.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.srv = &http.Server{Handler: h}
	go func() { _ = p.srv.Serve(l) }()
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func TestMirrorCorruptBlobAndResume(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	img := reg.PushBusybox(t, "test/bb", "v1", registrytest.Uncompressed, false)
	mirror := startProxy(t, reg.URL(), "/mirror/v2")
	ctx := context.Background()

	// A mirror via hosts.toml, with a path override; the "server" is
	// unreachable, so everything must come through the mirror.
	certs := t.TempDir()
	const domain = "registry.berth-test.invalid"
	if err := os.MkdirAll(filepath.Join(certs, domain), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("server = \"https://127.0.0.1:1\"\n[host.\"http://%s/mirror/v2\"]\n  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n", mirror.addr)
	if err := os.WriteFile(filepath.Join(certs, domain, "hosts.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := distribution.NewClient(distribution.ClientOptions{Hosts: distribution.HostOptions{CertsDir: certs}, Retries: 1})
	s := newStore(t)
	if _, err := fetchImage(ctx, c, s, domain+"/test/bb:v1", amd64); err != nil {
		t.Fatalf("pull through mirror: %v", err)
	}
	if mirror.requests.Load() == 0 {
		t.Fatal("mirror not used")
	}

	// Corrupt blobs are rejected and nothing of them is stored.
	mirror.corrupt.Store(true)
	s = newStore(t)
	_, err := fetchImage(ctx, c, s, domain+"/test/bb:v1", amd64)
	if !errors.Is(err, distribution.ErrCorruptBlob) {
		t.Fatalf("want corrupt blob error, got %v", err)
	}
	if _, err := s.Info(ctx, img.Layers[0].Digest); !errors.Is(err, content.ErrNotFound) {
		t.Fatalf("corrupt layer stored: %v", err)
	}
	if st, _ := s.ListStatuses(ctx); len(st) != 0 {
		t.Fatalf("corrupt ingest left: %+v", st)
	}
	mirror.corrupt.Store(false)

	// An ingest interrupted halfway resumes with a Range request.
	s = newStore(t)
	layer := img.Layers[0]
	w, err := s.Writer(ctx, content.WriterOpts{Ref: distribution.IngestRef(layer.Descriptor()), Expected: layer.Digest, Size: layer.Size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(layer.Data[:layer.Size/2]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before := mirror.ranges.Load()
	ref, _ := reference.Parse(domain + "/test/bb:v1")
	if err := c.FetchToStore(ctx, s, ref, layer.Descriptor(), nil, nil); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if mirror.ranges.Load() == before {
		t.Fatal("no Range request on resume")
	}
	if info, err := s.Info(ctx, layer.Digest); err != nil || info.Size != layer.Size {
		t.Fatalf("resumed blob: %+v %v", info, err)
	}
}
