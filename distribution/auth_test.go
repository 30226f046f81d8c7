package distribution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	"github.com/opencontainers/go-digest"
)

// fakeRegistry answers manifests only with a bearer token that its token
// endpoint hands out (anonymously for pulls of "public/", with basic
// credentials otherwise), and fails the first `flaky` requests with 503.
// testManifest is a small Docker schema2 manifest registries serve.
const testManifest = `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":3},"layers":[]}`

func fakeRegistry(t *testing.T, flaky int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	body := []byte(testManifest)
	dg := digest.FromBytes(body)
	var fails atomic.Int32
	fails.Store(flaky)
	var tokens atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			scope := r.URL.Query().Get("scope")
			u, p, ok := r.BasicAuth()
			if !strings.Contains(scope, "public/") && (!ok || u != "alice" || p != "pw") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			tokens.Add(1)
			fmt.Fprintf(w, `{"token":"tok-%s"}`, scope)
			return
		}
		if fails.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		repo := strings.TrimPrefix(strings.Split(r.URL.Path, "/manifests/")[0], "/v2/")
		want := "Bearer tok-repository:" + repo + ":pull"
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="fake",scope="repository:%s:pull"`, srv.URL, repo))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", manifest.MediaTypeDockerManifest)
		w.Header().Set("Docker-Content-Digest", dg.String())
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func TestBearerTokenFlowAndRetries(t *testing.T) {
	srv, tokens := fakeRegistry(t, 2)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	c := NewClient(ClientOptions{Hosts: HostOptions{CertsDir: t.TempDir()}, Backoff: time.Millisecond})
	ref, _ := reference.Parse(host + "/public/app:v1")
	d, err := c.Resolve(ctx, ref)
	if err != nil {
		t.Fatalf("anonymous token after 503s: %v", err)
	}
	if d.MediaType != manifest.MediaTypeDockerManifest || d.Digest != digest.FromBytes([]byte(testManifest)) {
		t.Fatalf("descriptor %+v", d)
	}
	// The token is cached: a second resolve asks for no new one.
	n := tokens.Load()
	if _, err := c.Resolve(ctx, ref); err != nil || tokens.Load() != n {
		t.Fatalf("token not reused: %v (%d → %d)", err, n, tokens.Load())
	}
	private, _ := reference.Parse(host + "/private/app:v1")
	if _, err := c.Resolve(ctx, private); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("private without credentials: want unauthorized, got %v", err)
	}
	c = NewClient(ClientOptions{Hosts: HostOptions{CertsDir: t.TempDir()}, Credentials: credentials.StaticCredentials(host, credentials.Credentials{Username: "alice", Password: "pw"})})
	if _, err := c.Resolve(ctx, private); err != nil {
		t.Fatalf("private with credentials: %v", err)
	}
	// Retries give up with the last error.
	srv2, _ := fakeRegistry(t, 100)
	ref2, _ := reference.Parse(strings.TrimPrefix(srv2.URL, "http://") + "/public/app:v1")
	c = NewClient(ClientOptions{Hosts: HostOptions{CertsDir: t.TempDir()}, Retries: 2, Backoff: time.Millisecond})
	var se *StatusError
	if _, err := c.Resolve(ctx, ref2); !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("want 503 after retries, got %v", err)
	}
}

func TestParseChallenges(t *testing.T) {
	ch := parseChallenges([]string{`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`, `Basic realm="x"`})
	if len(ch) != 2 || ch[0].scheme != "bearer" || ch[0].params["scope"] != "repository:a/b:pull,push" || ch[0].params["realm"] != "https://auth.example/token" || ch[1].scheme != "basic" {
		t.Fatalf("%+v", ch)
	}
}

func TestSchema1Refused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", manifest.MediaTypeDockerSchema1Signed)
		_, _ = w.Write([]byte(`{"schemaVersion":1,"name":"old","tag":"v1","fsLayers":[]}`))
	}))
	defer srv.Close()
	ref, _ := reference.Parse(strings.TrimPrefix(srv.URL, "http://") + "/old/app:v1")
	c := NewClient(ClientOptions{Hosts: HostOptions{CertsDir: t.TempDir()}, Retries: -1})
	if _, err := c.Resolve(context.Background(), ref); !errors.Is(err, manifest.ErrSchema1) {
		t.Fatalf("want manifest.ErrSchema1, got %v", err)
	}
}

// TestIdentityTokenRefreshGrant: an identity token from a Docker config is
// exchanged at the token endpoint as an OAuth2 refresh token (POST
// grant_type=refresh_token with service and scope), never sent as a
// password; this token server accepts nothing else.
func TestIdentityTokenRefreshGrant(t *testing.T) {
	body := []byte(testManifest)
	var grants atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "refresh_token" ||
				r.PostForm.Get("refresh_token") != "id-token" || r.PostForm.Get("service") != "fake" ||
				r.PostForm.Get("scope") != "repository:private/app:pull" || r.PostForm.Get("client_id") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			grants.Add(1)
			fmt.Fprint(w, `{"access_token":"granted","refresh_token":"id-token"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer granted" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="fake",scope="repository:private/app:pull"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", manifest.MediaTypeDockerManifest)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(conf, []byte(`{"auths":{"`+host+`":{"auth":"","identitytoken":"id-token"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewClient(ClientOptions{Hosts: HostOptions{CertsDir: t.TempDir()}, Retries: -1, Credentials: credentials.FileCredentials(conf)})
	ref, _ := reference.Parse(host + "/private/app:v1")
	if _, err := c.Resolve(context.Background(), ref); err != nil {
		t.Fatalf("resolve with an identity token: %v", err)
	}
	if grants.Load() != 1 {
		t.Fatalf("%d refresh-token grants, want 1", grants.Load())
	}
}
