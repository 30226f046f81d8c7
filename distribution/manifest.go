package distribution

import (
	"encoding/json"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker schema2 and schema1 media types.
const (
	MediaTypeDockerManifest      = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList  = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig        = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayerGzip     = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerLayer         = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerForeignLayer  = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	MediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// ManifestAccept is the Accept header for manifest requests, most
// preferred first. Schema1 is deliberately absent.
var ManifestAccept = []string{
	ocispec.MediaTypeImageIndex,
	MediaTypeDockerManifestList,
	ocispec.MediaTypeImageManifest,
	MediaTypeDockerManifest,
}

// IsIndex reports whether mt is an OCI index or Docker manifest list.
func IsIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

// IsManifest reports whether mt is an OCI or Docker schema2 manifest.
func IsManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// IsForeignLayer reports whether a layer is marked non-distributable.
func IsForeignLayer(mt string) bool {
	switch mt {
	case MediaTypeDockerForeignLayer,
		ocispec.MediaTypeImageLayerNonDistributable,     //nolint:staticcheck // still seen in the wild
		ocispec.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck
		ocispec.MediaTypeImageLayerNonDistributableZstd: //nolint:staticcheck
		return true
	}
	return false
}

// Parsed is a manifest or an index, whichever the bytes held.
type Parsed struct {
	MediaType string
	Manifest  *ocispec.Manifest // set for a manifest
	Index     *ocispec.Index    // set for an index
}

// ParseManifest decodes a manifest or index. mediaType is the
// Content-Type or descriptor media type; when empty or generic, the
// document's own mediaType field (or its shape) decides. Schema1 is refused
// with ErrSchema1.
func ParseManifest(mediaType string, b []byte) (*Parsed, error) {
	var probe struct {
		SchemaVersion int                 `json:"schemaVersion"`
		MediaType     string              `json:"mediaType"`
		Manifests     json.RawMessage     `json:"manifests"`
		Layers        json.RawMessage     `json:"layers"`
		FSLayers      json.RawMessage     `json:"fsLayers"`
		Config        *ocispec.Descriptor `json:"config"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if probe.SchemaVersion == 1 || probe.FSLayers != nil || mediaType == MediaTypeDockerSchema1 || mediaType == MediaTypeDockerSchema1Signed {
		return nil, ErrSchema1
	}
	if probe.SchemaVersion != 2 {
		return nil, fmt.Errorf("parse manifest: %w: schemaVersion %d", ErrUnsupportedMedia, probe.SchemaVersion)
	}
	mt := mediaType
	if !IsIndex(mt) && !IsManifest(mt) {
		mt = probe.MediaType
	}
	if mt == "" {
		switch {
		case probe.Manifests != nil:
			mt = ocispec.MediaTypeImageIndex
		case probe.Config != nil:
			mt = ocispec.MediaTypeImageManifest
		}
	}
	if probe.MediaType != "" && probe.MediaType != mt {
		return nil, fmt.Errorf("parse manifest: %w: document says %q, served as %q", ErrUnsupportedMedia, probe.MediaType, mt)
	}
	p := &Parsed{MediaType: mt}
	switch {
	case IsIndex(mt):
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("parse index: %w", err)
		}
		for _, d := range idx.Manifests {
			if err := d.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("parse index: manifest digest %q: %w", d.Digest, err)
			}
			if d.Size < 0 {
				return nil, fmt.Errorf("parse index: %w: negative size for %s", ErrBadSize, d.Digest)
			}
		}
		p.Index = &idx
	case IsManifest(mt):
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		if err := m.Config.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("parse manifest: config digest %q: %w", m.Config.Digest, err)
		}
		for _, d := range m.Layers {
			if err := d.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("parse manifest: layer digest %q: %w", d.Digest, err)
			}
			if d.Size < 0 {
				return nil, fmt.Errorf("parse manifest: %w: negative size for %s", ErrBadSize, d.Digest)
			}
		}
		p.Manifest = &m
	default:
		return nil, fmt.Errorf("parse manifest: %w %q", ErrUnsupportedMedia, mt)
	}
	return p, nil
}
