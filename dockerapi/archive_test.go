package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/berth-dev/berth/archive"
	dcontainer "github.com/moby/moby/api/types/container"
)

// TestArchiveRoutes checks that the archive endpoints are routed (GET,
// HEAD and PUT each reach their handler) and refuse a missing path with
// 400 before they need an engine.
func TestArchiveRoutes(t *testing.T) {
	h := (&Server{}).handler()
	for _, m := range []string{"GET", "HEAD", "PUT"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/v1.50/containers/c/archive", nil))
		if rec.Code != 400 {
			t.Errorf("%s archive without a path: %d, want 400", m, rec.Code)
		}
		if m != "HEAD" && rec.Body.String() != "{\"message\":\"path cannot be empty\"}\n" {
			t.Errorf("%s archive without a path: body %q", m, rec.Body)
		}
	}
}

// TestPathStatHeader checks the stat header decodes as Docker's
// PathStat, the symlink's target included.
func TestPathStatHeader(t *testing.T) {
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	st := archive.PathStat{Name: "l", Size: 4, Mode: os.ModeSymlink | 0o777, Mtime: mtime, LinkTarget: "/etc"}
	rec := httptest.NewRecorder()
	if err := setPathStat(rec, st); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(rec.Header().Get("X-Docker-Container-Path-Stat"))
	if err != nil {
		t.Fatal(err)
	}
	var got dcontainer.PathStat
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	want := dcontainer.PathStat{Name: "l", Size: 4, Mode: os.ModeSymlink | 0o777, Mtime: mtime, LinkTarget: "/etc"}
	if !got.Mtime.Equal(want.Mtime) || got.Name != want.Name || got.Size != want.Size || got.Mode != want.Mode || got.LinkTarget != want.LinkTarget {
		t.Errorf("stat header %s, want %+v", raw, want)
	}
}
