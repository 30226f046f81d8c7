package dockerapi

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/images"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestImageNames: inspect's RepoTags and RepoDigests hold every name of
// the image, each repository's digest once, and no other image's.
func TestImageNames(t *testing.T) {
	info := func(name, id, dgst string) engine.ImageInfo {
		return engine.ImageInfo{Image: images.Image{Name: name, Target: ocispec.Descriptor{Digest: digest.Digest(dgst)}}, ID: id}
	}
	list := []engine.ImageInfo{
		info("docker.io/library/busybox:latest", "sha256:c1", "sha256:m1"),
		info("docker.io/library/busybox:v1", "sha256:c1", "sha256:m1"),
		info("127.0.0.1:5000/py/copy:v2", "sha256:c1", "sha256:m1"),
		info("docker.io/library/alpine:latest", "sha256:c2", "sha256:m2"),
	}
	tags, digests := imageNames(list, "sha256:c1")
	if want := []string{"busybox:latest", "busybox:v1", "127.0.0.1:5000/py/copy:v2"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %q, want %q", tags, want)
	}
	if want := []string{"busybox@sha256:m1", "127.0.0.1:5000/py/copy@sha256:m1"}; !slices.Equal(digests, want) {
		t.Errorf("digests = %q, want %q", digests, want)
	}
}

func TestSplitImagePath(t *testing.T) {
	for rest, want := range map[string][2]string{
		"busybox/json":                    {"busybox", "json"},
		"busybox:latest/history":          {"busybox:latest", "history"},
		"127.0.0.1:5000/a/b:tag/push":     {"127.0.0.1:5000/a/b:tag", "push"},
		"127.0.0.1:5000/a/b/tag":          {"127.0.0.1:5000/a/b", "tag"},
		"a/b@sha256:0123456789abcdef/get": {"a/b@sha256:0123456789abcdef", "get"},
		"sha256:0123456789abcdef/json":    {"sha256:0123456789abcdef", "json"},
		"busybox":                         {"busybox", ""},
		"library/json/json":               {"library/json", "json"},
		"/json":                           {"", "json"},
	} {
		name, action := splitImagePath(rest)
		if name != want[0] || action != want[1] {
			t.Errorf("splitImagePath(%q) = %q, %q; want %q, %q", rest, name, action, want[0], want[1])
		}
	}
}

// TestImageRoutes checks that names with slashes, ports, tags and
// digests reach the handler of their action, and that the rest is 501.
func TestImageRoutes(t *testing.T) {
	var got string
	record := func(action string) imageHandler {
		return func(_ http.ResponseWriter, _ *http.Request, name string) { got = action + " " + name }
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /images/{rest...}", imageRoutes(map[string]imageHandler{"json": record("json"), "history": record("history")}))
	mux.HandleFunc("POST /images/{rest...}", imageRoutes(map[string]imageHandler{"tag": record("tag"), "push": record("push")}))
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/images/127.0.0.1:5000/a/b:tag/json", "json 127.0.0.1:5000/a/b:tag"},
		{"GET", "/images/busybox/history", "history busybox"},
		{"POST", "/images/127.0.0.1:5000/a/b:tag/tag", "tag 127.0.0.1:5000/a/b:tag"},
		{"POST", "/images/127.0.0.1:5000/a/b/push", "push 127.0.0.1:5000/a/b"},
		{"GET", "/images/busybox", ""},
		{"GET", "/images/busybox/push", ""},
		{"POST", "/images/busybox/json", ""},
	} {
		got = ""
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if got != tc.want || (tc.want == "" && rec.Code != http.StatusNotImplemented) {
			t.Errorf("%s %s: handled %q (status %d), want %q", tc.method, tc.path, got, rec.Code, tc.want)
		}
	}
}

func TestMatchReference(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"busybox", "docker.io/library/busybox:latest", true},
		{"busybox:latest", "docker.io/library/busybox:latest", true},
		{"busybox:*", "docker.io/library/busybox:1.36", true},
		{"busybox:1.*", "docker.io/library/busybox:latest", false},
		{"*/test/*", "127.0.0.1:5000/test/busybox:v1", true},
		{"127.0.0.1:5000/test/busybox", "127.0.0.1:5000/test/busybox:v1", true},
		{"alpine", "docker.io/library/busybox:latest", false},
		{"[", "docker.io/library/busybox:latest", false},
	} {
		if got := matchReference(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchReference(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}

func TestHasTagOrDigest(t *testing.T) {
	for name, want := range map[string]bool{
		"busybox": false, "busybox:1": true, "127.0.0.1:5000/a/b": false, "127.0.0.1:5000/a/b:v1": true,
		"a/b@sha256:00": true,
	} {
		if got := hasTagOrDigest(name); got != want {
			t.Errorf("hasTagOrDigest(%q) = %v", name, got)
		}
	}
}

func TestUntilFilter(t *testing.T) {
	if tm, err := untilFilter(nil); err != nil || !tm.IsZero() {
		t.Errorf("no until: %v %v", tm, err)
	}
	if tm, err := untilFilter([]string{"1h"}); err != nil || time.Since(tm) < time.Hour {
		t.Errorf("until=1h: %v %v", tm, err)
	}
	for v, want := range map[string]int64{"2024-01-02T03:04:05Z": 1704164645, "2024-01-02": 1704153600, "1700000000": 1700000000} {
		if tm, err := untilFilter([]string{v}); err != nil || tm.Unix() != want {
			t.Errorf("until=%s: %v %v, want %d", v, tm, err, want)
		}
	}
	for _, bad := range [][]string{{"yesterday"}, {"1h", "2h"}} {
		if _, err := untilFilter(bad); err == nil {
			t.Errorf("until=%v accepted", bad)
		}
	}
}
