package imagetest

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrBadRef is returned for an image reference that is empty or malformed.
var ErrBadRef = errors.New("invalid image reference")

// image holds the blobs of a one-layer image built from a root filesystem.
type image struct {
	ref      string
	layer    []byte
	layerDgt digest.Digest
	config   []byte
	cfgDgt   digest.Digest
}

// normalizeRef checks ref and gives it a ":latest" tag when it has none.
func normalizeRef(ref string) (string, error) {
	if ref == "" || strings.ContainsAny(ref, " \t\n@") || ref != strings.ToLower(ref) ||
		strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ":") {
		return "", fmt.Errorf("%w: %q (want lower-case name[:tag], e.g. localhost/berth-test:latest)", ErrBadRef, ref)
	}
	if !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		ref += ":latest"
	}
	return ref, nil
}

func buildImage(rootfs, ref string) (*image, error) {
	ref, err := normalizeRef(ref)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(rootfs); err != nil {
		return nil, fmt.Errorf("image rootfs: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("image rootfs %s: not a directory", rootfs)
	}
	layer, ld, err := layerTar(rootfs)
	if err != nil {
		return nil, err
	}
	created := layerTime
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"sh"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{ld}},
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return &image{ref: ref, layer: layer, layerDgt: ld, config: cb, cfgDgt: digest.FromBytes(cb)}, nil
}

// tarFile is one member of an archive being written.
type tarFile struct {
	name string
	data []byte
}

// writeTar writes files as a tar at path, atomically: on error nothing is
// left at path.
func writeTar(path string, files []tarFile) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".imagetest-*")
	if err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	tw := tar.NewWriter(tmp)
	dirs := map[string]bool{}
	for _, f := range files {
		// Parent directories first, once each.
		parts := strings.Split(f.name, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: layerTime}); err != nil {
				return fmt.Errorf("write archive %s: %w", path, err)
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: layerTime}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write archive %s: %w", path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("write archive %s: %w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	return nil
}

// WriteOCIArchive writes the tree at rootfs as a one-layer image in an OCI
// image layout packed as a tar at path (the "oci-archive" format), named
// ref (a ":latest" tag is added when ref has none). The name is recorded
// both as org.opencontainers.image.ref.name and io.containerd.image.name,
// so `ctr images import` and `podman load` both find it.
func WriteOCIArchive(path, rootfs, ref string) error {
	img, err := buildImage(rootfs, ref)
	if err != nil {
		return fmt.Errorf("oci archive %s: %w", path, err)
	}
	manifest := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: img.cfgDgt, Size: int64(len(img.config))},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: img.layerDgt, Size: int64(len(img.layer))}},
	}
	manifest.SchemaVersion = 2
	mb, err := json.Marshal(manifest)
	if err != nil {
		return fmt.Errorf("oci archive %s: encode manifest: %w", path, err)
	}
	md := digest.FromBytes(mb)
	index := ocispec.Index{
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(mb)),
			Platform: &ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			Annotations: map[string]string{
				ocispec.AnnotationRefName:  img.ref,
				"io.containerd.image.name": img.ref,
			},
		}},
	}
	index.SchemaVersion = 2
	ib, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("oci archive %s: encode index: %w", path, err)
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	blob := func(d digest.Digest) string { return "blobs/" + d.Algorithm().String() + "/" + d.Encoded() }
	return writeTar(path, []tarFile{
		{ocispec.ImageLayoutFile, layout},
		{"index.json", ib},
		{blob(img.layerDgt), img.layer},
		{blob(img.cfgDgt), img.config},
		{blob(md), mb},
	})
}

// dockerManifestEntry is one image in a docker-archive's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteDockerArchive writes the tree at rootfs as a one-layer image in the
// format of `docker save` (the "docker-archive" format) at path, tagged
// ref (a ":latest" tag is added when ref has none).
func WriteDockerArchive(path, rootfs, ref string) error {
	img, err := buildImage(rootfs, ref)
	if err != nil {
		return fmt.Errorf("docker archive %s: %w", path, err)
	}
	cfgName := img.cfgDgt.Encoded() + ".json"
	layerName := img.layerDgt.Encoded() + "/layer.tar"
	mb, err := json.Marshal([]dockerManifestEntry{{Config: cfgName, RepoTags: []string{img.ref}, Layers: []string{layerName}}})
	if err != nil {
		return fmt.Errorf("docker archive %s: encode manifest: %w", path, err)
	}
	return writeTar(path, []tarFile{
		{cfgName, img.config},
		{layerName, img.layer},
		{"manifest.json", mb},
	})
}
