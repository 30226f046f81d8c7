package manifest

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	testDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	testIndex  = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + testDigest + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + testDigest + `","size":2,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`
	testManifest = `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + testDigest + `","size":3},"layers":[]}`
)

func TestParseManifest(t *testing.T) {
	p, err := Parse("", []byte(testIndex))
	if err != nil || p.Index == nil || len(p.Index.Manifests) != 2 {
		t.Fatalf("index: %v %+v", err, p)
	}
	d, err := platforms.Select(p.Index, ocispec.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil || d.Size != 2 {
		t.Fatalf("select arm64: %v %v", err, d)
	}
	_, err = platforms.Select(p.Index, ocispec.Platform{OS: "linux", Architecture: "s390x"})
	var pe *platforms.NoMatchError
	if !errors.Is(err, platforms.ErrNoMatch) || !errors.As(err, &pe) || len(pe.Available) != 2 {
		t.Fatalf("want platform error listing 2, got %v", err)
	}
	p, err = Parse(MediaTypeDockerManifest, []byte(testManifest))
	if err != nil || p.Manifest == nil {
		t.Fatalf("manifest: %v", err)
	}
	if _, err := Parse("", []byte(`{"schemaVersion":1,"fsLayers":[]}`)); !errors.Is(err, ErrSchema1) {
		t.Fatalf("schema1: %v", err)
	}
	if _, err := Parse(ocispec.MediaTypeImageIndex, []byte(testManifest)); err == nil {
		t.Fatal("mismatched media type accepted")
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("", []byte(testIndex))
	f.Add(MediaTypeDockerManifest, []byte(testManifest))
	f.Add("", []byte(`{"schemaVersion":1}`))
	f.Fuzz(func(t *testing.T, mt string, b []byte) {
		p, err := Parse(mt, b)
		if err != nil {
			return
		}
		if (p.Index == nil) == (p.Manifest == nil) {
			t.Fatalf("exactly one of index/manifest expected: %+v", p)
		}
		if p.Index != nil {
			_, _ = platforms.Select(p.Index, platforms.Default())
		}
	})
}

// TestReferences checks that every descriptor field of a manifest-like
// document is followed and that non-JSON blobs have none.
func TestReferences(t *testing.T) {
	doc := `{"config":{"digest":"` + testDigest + `","size":1},"layers":[{"size":2}],"manifests":[{"size":3}],"blobs":[{"size":4}],"subject":{"size":5}}`
	refs := References([]byte(doc))
	sum := int64(0)
	for _, d := range refs {
		sum += d.Size
	}
	if len(refs) != 5 || sum != 15 {
		t.Fatalf("references: %+v", refs)
	}
	if refs := References([]byte("\x1f\x8b layer")); refs != nil {
		t.Fatalf("non-JSON blob has references: %+v", refs)
	}
}
