// Package testsuite is the conformance suite every images.Store must
// pass: lookups, create and replace, namespace isolation, deletion and
// the errdefs kinds of its errors.
package testsuite

import (
	"bytes"
	"errors"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/images"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Opener returns a fresh, empty store and the content store of each
// namespace, where an image's target must be committed before the image
// is recorded.
type Opener func(t *testing.T) (store images.Store, contentOf func(ns string) content.Store)

// RunTestSuite runs every check against stores made by open.
func RunTestSuite(t *testing.T, name string, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, images.Store, func(string) content.Store)
	}{
		{"PutGet", testPutGet},
		{"Replace", testReplace},
		{"Namespaces", testNamespaces},
		{"Delete", testDelete},
		{"Invalid", testInvalid},
	} {
		t.Run(name+"/"+c.name, func(t *testing.T) {
			s, cs := open(t)
			c.fn(t, s, cs)
		})
	}
}

// target commits a small manifest-typed blob into ns's content.
func target(t *testing.T, cs content.Store, body string) ocispec.Descriptor {
	t.Helper()
	b := []byte(body)
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := content.WriteBlob(t.Context(), cs, "suite-"+d.Digest.Encoded(), bytes.NewReader(b), d.Size, d.Digest, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

func testPutGet(t *testing.T, s images.Store, cs func(string) content.Store) {
	ctx := t.Context()
	if _, err := s.Get(ctx, "default", "example.com/a:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	d := target(t, cs("default"), `{"a":1}`)
	put, err := s.Put(ctx, "default", images.Image{Name: "example.com/a:1", Target: d, Labels: map[string]string{"k": "v"}})
	if err != nil || put.CreatedAt.IsZero() || put.UpdatedAt.IsZero() {
		t.Fatalf("put: %+v %v", put, err)
	}
	got, err := s.Get(ctx, "default", "example.com/a:1")
	if err != nil || got.Target.Digest != d.Digest || got.Labels["k"] != "v" || !got.CreatedAt.Equal(put.CreatedAt) {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := s.List(ctx, "default")
	if err != nil || len(list) != 1 || list[0].Name != "example.com/a:1" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func testReplace(t *testing.T, s images.Store, cs func(string) content.Store) {
	ctx := t.Context()
	d1, d2 := target(t, cs("default"), `{"v":1}`), target(t, cs("default"), `{"v":2}`)
	first, err := s.Put(ctx, "default", images.Image{Name: "example.com/r:1", Target: d1, Labels: map[string]string{"old": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Put(ctx, "default", images.Image{Name: "example.com/r:1", Target: d2, Labels: map[string]string{"new": "1"}})
	if err != nil || second.Target.Digest != d2.Digest || !second.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("replace: %+v %v", second, err)
	}
	if second.Labels["old"] != "" || second.Labels["new"] != "1" {
		t.Fatalf("replace kept old labels: %v", second.Labels)
	}
	if list, err := s.List(ctx, "default"); err != nil || len(list) != 1 {
		t.Fatalf("replace duplicated the record: %+v %v", list, err)
	}
}

func testNamespaces(t *testing.T, s images.Store, cs func(string) content.Store) {
	ctx := t.Context()
	d := target(t, cs("a"), `{"ns":"a"}`)
	if _, err := s.Put(ctx, "a", images.Image{Name: "example.com/n:1", Target: d}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "b", "example.com/n:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("namespace b sees a's image: %v", err)
	}
	if list, err := s.List(ctx, "b"); err != nil || len(list) != 0 {
		t.Fatalf("namespace b lists %+v %v", list, err)
	}
}

func testDelete(t *testing.T, s images.Store, cs func(string) content.Store) {
	ctx := t.Context()
	d := target(t, cs("default"), `{"d":1}`)
	if _, err := s.Put(ctx, "default", images.Image{Name: "example.com/d:1", Target: d}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "default", "example.com/d:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "default", "example.com/d:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := s.Delete(ctx, "default", "example.com/d:1"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testInvalid(t *testing.T, s images.Store, cs func(string) content.Store) {
	ctx := t.Context()
	d := target(t, cs("default"), `{"i":1}`)
	if _, err := s.Put(ctx, "default", images.Image{Name: "", Target: d}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("empty name: %v", err)
	}
	missing := ocispec.Descriptor{MediaType: d.MediaType, Digest: digest.FromString("absent"), Size: 6}
	if _, err := s.Put(ctx, "default", images.Image{Name: "example.com/i:1", Target: missing}); err == nil {
		t.Fatal("an image whose target is not stored was recorded")
	}
}
