package engine

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/berth-dev/berth/snapshot"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/archive/compression"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/images"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// errBadArchive marks a malformed or unsafe image archive.
var errBadArchive = errdefs.New(errdefs.ErrInvalidArgument, "invalid image archive")

// Annotations naming images in OCI archives.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = ocispec.AnnotationRefName
)

// dockerManifestEntry is one image of a docker save manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// importer reads an OCI or Docker archive into the content store.
type importer struct {
	cs      content.Store                 // the namespace's view
	files   map[string]ocispec.Descriptor // archive path → stored blob
	links   map[string]string             // symlink path → target path
	json    map[string][]byte
	created []digest.Digest // blobs this import added (removed on failure)
}

// cleanEntryName validates an archive entry name: relative, no "..",
// nothing that could point outside the archive.
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: %w: entry %q", errBadArchive, archive.ErrUnsafePath, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: %w: entry %q", errBadArchive, archive.ErrUnsafePath, name)
		}
	}
	return path.Clean(name), nil
}

// load loads images from r; on error every blob it added is
// removed again and no image is recorded.
func (e *Engine) load(ctx context.Context, ns string, r io.Reader, defaultName string) (imgs []images.Image, retErr error) {
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return nil, err
	}
	im := &importer{cs: e.Content(ns), files: map[string]ocispec.Descriptor{}, links: map[string]string{}, json: map[string][]byte{}}
	defer func() {
		if retErr != nil {
			for _, dg := range im.created {
				_ = im.cs.Delete(context.WithoutCancel(ctx), dg)
			}
			if len(im.created) > 0 {
				// Nothing may stay behind: collect the dropped blobs now.
				if _, err := e.GC(context.WithoutCancel(ctx)); err != nil {
					e.log.Warn("collect after a failed import", "err", err)
				}
			}
		}
	}()
	if err := im.readAll(ctx, r); err != nil {
		return nil, err
	}
	var named []images.Image
	switch {
	case im.json["index.json"] != nil:
		named, err = im.ociImages(defaultName)
	case im.json["manifest.json"] != nil:
		named, err = im.dockerImages(ctx)
	default:
		err = fmt.Errorf("%w: neither index.json (OCI) nor manifest.json (Docker) found", errBadArchive)
	}
	if err != nil {
		return nil, err
	}
	if err := e.unpackAll(ctx, im.cs, sn, named); err != nil {
		return nil, err
	}
	for _, img := range named {
		rec, err := e.imgs.Put(ctx, ns, img)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, rec)
	}
	return imgs, nil
}

// readAll stores every file of the (possibly compressed) tar archive r
// and records its links.
func (im *importer) readAll(ctx context.Context, r io.Reader) error {
	dr, _, err := compression.Decompress(r)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadArchive, err)
	}
	defer dr.Close()
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: read tar: %v", errBadArchive, err)
		}
		name, err := cleanEntryName(h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			target := h.Linkname
			if h.Typeflag == tar.TypeSymlink && !strings.HasPrefix(target, "/") {
				target = path.Join(path.Dir(name), target)
			}
			t, err := cleanEntryName(target)
			if err != nil || strings.HasPrefix(t, "../") {
				return fmt.Errorf("%w: %w: link %q → %q", errBadArchive, archive.ErrUnsafePath, h.Name, h.Linkname)
			}
			im.links[name] = t
		case tar.TypeReg:
			if err := im.storeFile(ctx, name, h.Size, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unsupported entry %q (type %c)", errBadArchive, h.Name, h.Typeflag)
		}
	}
	return nil
}

// unpackAll unpacks the layers of each image for the host's platform and
// labels its config with the top snapshot.
func (e *Engine) unpackAll(ctx context.Context, cs content.Store, sn snapshot.Snapshotter, named []images.Image) error {
	u := &images.Unpacker{Content: cs, Snapshotter: sn}
	for _, img := range named {
		res, err := images.ResolveManifest(ctx, cs, img.Target, platforms.Default())
		if err != nil {
			return fmt.Errorf("%w: image %s: %v", errBadArchive, img.Name, err)
		}
		if err := res.ValidateLayers(); err != nil {
			return fmt.Errorf("image %s: %w", img.Name, err)
		}
		chains := images.ChainIDs(res.Config.RootFS.DiffIDs)
		var parent digest.Digest
		for j, l := range res.ManifestBody.Layers {
			if err := u.UnpackLayer(ctx, l, res.Config.RootFS.DiffIDs[j], parent, chains[j]); err != nil {
				return fmt.Errorf("image %s: %w", img.Name, err)
			}
			parent = chains[j]
		}
		if parent != "" {
			if err := images.LabelConfigSnapshot(ctx, cs, res.ManifestBody.Config.Digest, e.cfg.Snapshotter, parent); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeFile writes one archive file into the content store, verifying
// blobs/<alg>/<hex> names against their content.
func (im *importer) storeFile(ctx context.Context, name string, size int64, r io.Reader) error {
	var expected digest.Digest
	if parts := strings.Split(name, "/"); len(parts) == 3 && parts[0] == "blobs" {
		expected = digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
		if err := expected.Validate(); err != nil {
			return fmt.Errorf("%w: blob name %q: %v", errBadArchive, name, err)
		}
	}
	keepJSON := strings.HasSuffix(name, ".json") || name == "oci-layout" || name == "repositories"

	if keepJSON {
		if size > manifest.MaxSize { // JSON documents are kept in memory
			return fmt.Errorf("%w: %s is too large (%d bytes)", errBadArchive, name, size)
		}
		b, err := io.ReadAll(io.LimitReader(r, size))
		if err != nil {
			return fmt.Errorf("%w: read %s: %v", errBadArchive, name, err)
		}
		im.json[name] = b

		if expected == "" && !strings.HasSuffix(name, ".json") {
			return nil // oci-layout, repositories: metadata only
		}
		r = strings.NewReader(string(b))
	}
	if expected != "" {
		if info, err := im.cs.Info(ctx, expected); err == nil && info.Size == size {
			im.files[name] = ocispec.Descriptor{Digest: expected, Size: size}
			_, err := io.Copy(io.Discard, r)
			return err
		}
	}
	w, err := im.cs.Writer(ctx, content.WriterOpts{Ref: "import-" + randomRef(), Expected: expected, Size: size})
	if errors.Is(err, content.ErrAlreadyExists) { // present in another namespace, now in this one
		im.files[name] = ocispec.Descriptor{Digest: expected, Size: size}
		_, err := io.Copy(io.Discard, r)
		return err
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	defer w.Close()
	if _, err := io.Copy(w, io.LimitReader(r, size)); errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s is truncated", errBadArchive, name)
	} else if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	dg := w.Digest()
	_, statErr := im.cs.Info(ctx, dg)
	err = w.Commit(ctx, size, expected, nil)
	switch {
	case err == nil:
		if errors.Is(statErr, content.ErrNotFound) {
			im.created = append(im.created, dg)
		}
	case errors.Is(err, content.ErrAlreadyExists):
	case errors.Is(err, content.ErrDigestMismatch), errors.Is(err, content.ErrSizeMismatch):
		return fmt.Errorf("%w: %s does not match its name: %v", errBadArchive, name, err)
	default:
		return fmt.Errorf("import %s: %w", name, err)
	}
	im.files[name] = ocispec.Descriptor{Digest: dg, Size: size}
	return nil
}

// file resolves a path (following in-archive links) to its blob.
func (im *importer) file(name string) (ocispec.Descriptor, error) {
	for i := 0; i < 16; i++ {
		if d, ok := im.files[name]; ok {
			return d, nil
		}
		t, ok := im.links[name]
		if !ok {
			break
		}
		name = t
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w: %s is missing from the archive", errBadArchive, name)
}

func (im *importer) ociImages(defaultName string) ([]images.Image, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(im.json["index.json"], &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", errBadArchive, err)
	}
	var out []images.Image
	for _, m := range idx.Manifests {
		name := m.Annotations[annotationImageName]
		if name == "" {
			name = m.Annotations[annotationRefName]
			if name != "" && !strings.ContainsAny(name, "/:") && defaultName != "" {
				// A bare tag: combine it with the given name.
				if ref, err := reference.Parse(defaultName); err == nil {
					name = ref.Name() + ":" + name
				}
			}
		}
		if name == "" {
			name = defaultName
		}
		if name == "" {
			return nil, fmt.Errorf("%w: manifest %s carries no image name; give one with --name", errBadArchive, m.Digest)
		}
		ref, err := reference.Parse(name)
		if err != nil {
			return nil, err
		}
		if _, err := im.file("blobs/" + string(m.Digest.Algorithm()) + "/" + m.Digest.Encoded()); err != nil {
			return nil, err
		}
		m.Annotations, m.Platform = nil, nil
		out = append(out, images.Image{Name: ref.String(), Target: m})
	}
	return out, nil
}

func (im *importer) dockerImages(ctx context.Context) ([]images.Image, error) {
	var entries []dockerManifestEntry
	if err := json.Unmarshal(im.json["manifest.json"], &entries); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", errBadArchive, err)
	}
	var out []images.Image
	for _, e := range entries {
		cfgName, err := cleanEntryName(e.Config)
		if err != nil {
			return nil, err
		}
		cfg, err := im.file(cfgName)
		if err != nil {
			return nil, err
		}
		m := ocispec.Manifest{MediaType: manifest.MediaTypeDockerManifest,
			Config: ocispec.Descriptor{MediaType: manifest.MediaTypeDockerConfig, Digest: cfg.Digest, Size: cfg.Size}}
		m.SchemaVersion = 2
		for _, l := range e.Layers {
			ln, err := cleanEntryName(l)
			if err != nil {
				return nil, err
			}
			ld, err := im.file(ln)
			if err != nil {
				return nil, err
			}
			ld.MediaType, err = im.layerMediaType(ctx, ld)
			if err != nil {
				return nil, err
			}
			m.Layers = append(m.Layers, ld)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		if err := im.storeFile(ctx, "berth-generated/manifest.json", int64(len(b)), strings.NewReader(string(b))); err != nil {
			return nil, err
		}
		target := im.files["berth-generated/manifest.json"]
		target.MediaType = manifest.MediaTypeDockerManifest
		delete(im.files, "berth-generated/manifest.json")
		if len(e.RepoTags) == 0 {
			return nil, fmt.Errorf("%w: image %s has no RepoTags", errBadArchive, cfg.Digest)
		}
		for _, tag := range e.RepoTags {
			ref, err := reference.Parse(tag)
			if err != nil {
				return nil, err
			}
			out = append(out, images.Image{Name: ref.String(), Target: target})
		}
	}
	return out, nil
}

// layerMediaType tells gzip, zstd and plain tar layers apart by magic.
func (im *importer) layerMediaType(ctx context.Context, d ocispec.Descriptor) (string, error) {
	ra, err := im.cs.ReaderAt(ctx, d.Digest)
	if err != nil {
		return "", fmt.Errorf("open layer %s: %w", d.Digest, err)
	}
	defer ra.Close()
	head := make([]byte, 4)
	n, _ := ra.ReadAt(head, 0)
	switch compression.Detect(head[:n]) {
	case compression.Gzip:
		return manifest.MediaTypeDockerLayerGzip, nil
	case compression.Zstd:
		return ocispec.MediaTypeImageLayerZstd, nil
	}
	return manifest.MediaTypeDockerLayer, nil
}
