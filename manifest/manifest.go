// Package manifest knows the image formats: OCI and Docker schema2 media
// types, manifest and index parsing, the descriptors a document refers
// to, and the size cap for documents read into memory.
package manifest

import (
	"encoding/json"
	"fmt"

	"github.com/berth-dev/berth/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrSchema1          = errdefs.New(errdefs.ErrInvalidArgument, "docker schema1 manifests are not supported")
	ErrUnsupportedMedia = errdefs.New(errdefs.ErrInvalidArgument, "unsupported media type")
	// ErrBadSize means a descriptor's size was refused (negative, not
	// positive where one is required, or over a limit) or more bytes
	// arrived than declared.
	ErrBadSize = errdefs.New(errdefs.ErrInvalidArgument, "unacceptable blob size")
)

// MaxSize caps manifests, indexes and image configs wherever one is read
// into memory: from a registry (a descriptor declaring more is refused
// before anything is fetched), from the content store, or from an archive.
const MaxSize = 8 << 20

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

// Accept is the Accept header for manifest requests, most
// preferred first. Schema1 is deliberately absent.
var Accept = []string{
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

// IsDocument reports whether mt is a manifest, index or image config.
func IsDocument(mt string) bool {
	return IsIndex(mt) || IsManifest(mt) || mt == ocispec.MediaTypeImageConfig || mt == MediaTypeDockerConfig
}

// Parsed is a manifest or an index, whichever the bytes held.
type Parsed struct {
	MediaType string
	Manifest  *ocispec.Manifest // set for a manifest
	Index     *ocispec.Index    // set for an index
}

// Parse decodes a manifest or index. mediaType is the
// Content-Type or descriptor media type; when empty or generic, the
// document's own mediaType field (or its shape) decides. Schema1 is refused
// with ErrSchema1.
func Parse(mediaType string, b []byte) (*Parsed, error) {
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

// Children lists the descriptors a parsed manifest (config, then layers)
// or index (its manifests) refers to.
func (p *Parsed) Children() []ocispec.Descriptor {
	if p.Index != nil {
		return p.Index.Manifests
	}
	return append([]ocispec.Descriptor{p.Manifest.Config}, p.Manifest.Layers...)
}

// References lists every descriptor a JSON document of any manifest-like
// shape names (manifests, config, layers, blobs, subject), without
// validating it: what the garbage collector follows. A document that is
// not a JSON object has none.
func References(b []byte) []ocispec.Descriptor {
	var doc struct {
		Manifests []ocispec.Descriptor `json:"manifests"`
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Subject   *ocispec.Descriptor  `json:"subject"`
		Blobs     []ocispec.Descriptor `json:"blobs"`
	}
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &doc) != nil {
		return nil
	}
	out := append([]ocispec.Descriptor{}, doc.Manifests...)
	out = append(out, doc.Layers...)
	out = append(out, doc.Blobs...)
	if doc.Config != nil {
		out = append(out, *doc.Config)
	}
	if doc.Subject != nil {
		out = append(out, *doc.Subject)
	}
	return out
}
