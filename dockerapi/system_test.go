package dockerapi

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/berth-dev/berth/errdefs"
	"github.com/moby/moby/api/types/system"
)

func TestDFKinds(t *testing.T) {
	for _, tc := range []struct {
		version, query string
		want           []system.DiskUsageObject
	}{
		{"1.50", "", []system.DiskUsageObject{system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject}},
		{"1.50", "type=image&type=volume", []system.DiskUsageObject{system.ImageObject, system.VolumeObject}},
		{"1.41", "type=image", []system.DiskUsageObject{system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject}},
	} {
		r := httptest.NewRequest("GET", "/system/df?"+tc.query, nil)
		r = r.WithContext(context.WithValue(r.Context(), versionKey{}, tc.version))
		got, err := dfKinds(r)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("v%s ?%s: %v, %v; want %v", tc.version, tc.query, got, err, tc.want)
			continue
		}
		for _, k := range tc.want {
			if !got[k] {
				t.Errorf("v%s ?%s: %v lacks %s", tc.version, tc.query, got, k)
			}
		}
	}
	_, err := dfKinds(httptest.NewRequest("GET", "/system/df?type=layers", nil))
	if HTTPStatus(err) != 400 || err.Error() != "unknown object type: layers" || errdefs.Kind(err) == nil {
		t.Errorf("type=layers: %v, want a 400 unknown object type", err)
	}
}

func TestLoginHost(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "docker.io",
		"https://index.docker.io/v1/": "docker.io",
		"registry-1.docker.io":        "docker.io",
		"127.0.0.1:5000":              "127.0.0.1:5000",
		"http://127.0.0.1:5000/":      "127.0.0.1:5000",
		"ghcr.io":                     "ghcr.io",
	} {
		if got := loginHost(in); got != want {
			t.Errorf("loginHost(%q) = %q, want %q", in, got, want)
		}
	}
}
