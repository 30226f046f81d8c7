package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker schema2 media types used by the builders.
const (
	DockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	DockerConfig       = "application/vnd.docker.container.image.v1+json"
	DockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	DockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
)

// Compression is a layer compression.
type Compression int

// The layer compressions the builders produce.
const (
	Gzip Compression = iota
	Zstd
	Uncompressed
)

// String names the compression.
func (c Compression) String() string {
	return [...]string{"gzip", "zstd", "uncompressed"}[c]
}

// Entry is one tar entry of a test layer.
type Entry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Mode     int64
	Data     []byte
	Linkname string
}

// Blob is a serialised blob with its descriptor fields.
type Blob struct {
	MediaType string
	Digest    digest.Digest
	Size      int64
	Data      []byte
	// URLs, set on a non-distributable layer, say where else it is served.
	URLs []string
}

// Descriptor returns the blob's OCI descriptor.
func (b Blob) Descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: b.MediaType, Digest: b.Digest, Size: b.Size, URLs: b.URLs}
}

func newBlob(mediaType string, data []byte) Blob {
	return Blob{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data)), Data: data}
}

// Image is a built test image.
type Image struct {
	Manifest Blob
	Config   Blob
	Layers   []Blob
	DiffIDs  []digest.Digest
	Platform ocispec.Platform
}

// Index is a built multi-platform index (or Docker manifest list).
type Index struct {
	Index     Blob
	Manifests []*Image
}

// ImageOptions tunes BuildImage.
type ImageOptions struct {
	Compression Compression
	Docker      bool // Docker schema2 media types instead of OCI
	OS, Arch    string
	Variant     string
	Labels      map[string]string
	History     []ocispec.History // the config's, as given
}

// BusyboxEntries is a root filesystem holding the static /bin/busybox and
// a few applet links.
func BusyboxEntries() ([]Entry, error) {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	return []Entry{
		{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Mode: 0o755, Data: bb},
		{Name: "bin/sh", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/true", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/ls", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/echo", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/sleep", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/cat", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "bin/id", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/hostname", Mode: 0o644, Data: []byte("berth\n")},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777},
	}, nil
}

// LayerTar serialises entries into an uncompressed tar.
func LayerTar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname, ModTime: mtime, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, fmt.Errorf("tar data %s: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar close: %w", err)
	}
	return buf.Bytes(), nil
}

// Compress compresses a tar with c.
func Compress(c Compression, raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch c {
	case Gzip:
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(raw); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	case Zstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if _, err := zw.Write(raw); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
	default:
		return raw, nil
	}
	return buf.Bytes(), nil
}

func layerMediaType(c Compression, docker bool) string {
	switch {
	case docker && c == Gzip:
		return DockerLayerGzip
	case docker && c == Uncompressed:
		return DockerLayer
	case c == Gzip:
		return ocispec.MediaTypeImageLayerGzip
	case c == Zstd:
		return ocispec.MediaTypeImageLayerZstd
	default:
		return ocispec.MediaTypeImageLayer
	}
}

// BuildImage builds an image whose layers hold the given entries, bottom
// first.
func BuildImage(layers [][]Entry, o ImageOptions) (*Image, error) {
	if o.OS == "" {
		o.OS = "linux"
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	img := &Image{Platform: ocispec.Platform{OS: o.OS, Architecture: o.Arch, Variant: o.Variant}}
	for _, entries := range layers {
		raw, err := LayerTar(entries)
		if err != nil {
			return nil, err
		}
		comp, err := Compress(o.Compression, raw)
		if err != nil {
			return nil, err
		}
		img.DiffIDs = append(img.DiffIDs, digest.FromBytes(raw))
		img.Layers = append(img.Layers, newBlob(layerMediaType(o.Compression, o.Docker), comp))
	}
	created := time.Unix(1700000000, 0).UTC()
	cfg := ocispec.Image{
		Created:  &created,
		Platform: img.Platform,
		Config:   ocispec.ImageConfig{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, Labels: o.Labels},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: img.DiffIDs},
		History:  o.History,
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	cfgType, manType := ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageManifest
	if o.Docker {
		cfgType, manType = DockerConfig, DockerManifest
	}
	img.Config = newBlob(cfgType, cfgJSON)
	img.Manifest.MediaType = manType
	return RebuildManifest(img)
}

// RebuildManifest regenerates img's manifest from its config and layers
// (after a test swapped some of them) and returns img.
func RebuildManifest(img *Image) (*Image, error) {
	m := ocispec.Manifest{MediaType: img.Manifest.MediaType, Config: img.Config.Descriptor()}
	m.SchemaVersion = 2
	for _, l := range img.Layers {
		m.Layers = append(m.Layers, l.Descriptor())
	}
	mJSON, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal manifest: %w", err)
	}
	img.Manifest = newBlob(img.Manifest.MediaType, mJSON)
	return img, nil
}

// BuildIndex builds an index (or Docker manifest list) over images.
func BuildIndex(docker bool, images ...*Image) (*Index, error) {
	mt := ocispec.MediaTypeImageIndex
	if docker {
		mt = DockerManifestList
	}
	idx := ocispec.Index{MediaType: mt}
	idx.SchemaVersion = 2
	for _, img := range images {
		d := img.Manifest.Descriptor()
		p := img.Platform
		d.Platform = &p
		idx.Manifests = append(idx.Manifests, d)
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("marshal index: %w", err)
	}
	return &Index{Index: newBlob(mt, b), Manifests: images}, nil
}

// BusyboxImage is a one-layer busybox image.
func BusyboxImage(c Compression, docker bool) (*Image, error) {
	e, err := BusyboxEntries()
	if err != nil {
		return nil, err
	}
	return BuildImage([][]Entry{e}, ImageOptions{Compression: c, Docker: docker})
}

// MultiLayerImage is busybox plus two layers exercising whiteouts and
// opaque directories. After unpack the tree must hold /etc/keep,
// /etc/dir/new, /data/b and no /etc/gone, /etc/dir/old or /data/a.
func MultiLayerImage(c Compression) (*Image, error) {
	bb, err := BusyboxEntries()
	if err != nil {
		return nil, err
	}
	l1 := append(bb,
		Entry{Name: "etc/keep", Data: []byte("keep\n")},
		Entry{Name: "etc/gone", Data: []byte("gone\n")},
		Entry{Name: "etc/dir/", Type: tar.TypeDir, Mode: 0o755},
		Entry{Name: "etc/dir/old", Data: []byte("old\n")},
		Entry{Name: "data/", Type: tar.TypeDir, Mode: 0o755},
		Entry{Name: "data/a", Data: []byte("a\n")},
	)
	l2 := []Entry{
		{Name: "etc/.wh.gone"},
		{Name: "etc/dir/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/dir/.wh..wh..opq"},
		{Name: "etc/dir/new", Data: []byte("new\n")},
	}
	l3 := []Entry{
		{Name: "data/.wh.a"},
		{Name: "data/b", Data: []byte("b\n")},
	}
	return BuildImage([][]Entry{l1, l2, l3}, ImageOptions{Compression: c})
}

// MultiPlatformIndex is an index of a linux/amd64 and a linux/arm64/v8
// busybox image (the arm64 one carries the same binary; it is never run)
// whose configs differ by a "platform" label.
func MultiPlatformIndex(docker bool) (*Index, error) {
	e, err := BusyboxEntries()
	if err != nil {
		return nil, err
	}
	amd, err := BuildImage([][]Entry{e}, ImageOptions{Docker: docker, Arch: "amd64", Labels: map[string]string{"platform": "amd64"}})
	if err != nil {
		return nil, err
	}
	arm, err := BuildImage([][]Entry{e}, ImageOptions{Docker: docker, Arch: "arm64", Variant: "v8", Labels: map[string]string{"platform": "arm64"}})
	if err != nil {
		return nil, err
	}
	return BuildIndex(docker, amd, arm)
}
