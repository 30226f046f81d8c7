package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func randomRef() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tarWriter adds files with fixed metadata.
type tarWriter struct {
	tw   *tar.Writer
	seen map[string]bool
}

func (t *tarWriter) add(name string, size int64, r io.Reader) error {
	if t.seen[name] {
		return nil
	}
	t.seen[name] = true
	h := &tar.Header{Name: name, Mode: 0o444, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := t.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := io.Copy(t.tw, io.LimitReader(r, size)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (t *tarWriter) addBytes(name string, b []byte) error {
	return t.add(name, int64(len(b)), bytes.NewReader(b))
}

func blobPath(d ocispec.Descriptor) string {
	return "blobs/" + string(d.Digest.Algorithm()) + "/" + d.Digest.Encoded()
}

func addBlob(ctx context.Context, cs content.Store, t *tarWriter, desc ocispec.Descriptor) error {
	ra, err := cs.ReaderAt(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("export %s: %w", desc.Digest, err)
	}
	defer ra.Close()
	return t.add(blobPath(desc), ra.Size(), io.NewSectionReader(ra, 0, ra.Size()))
}

// Save writes the named images of ns as an OCI layout ("oci", the
// default) or a docker save archive ("docker", the manifests of plat, nil
// for the host's) to w.
func (e *Engine) Save(ctx context.Context, ns string, names []string, format string, plat *ocispec.Platform, w io.Writer) error {
	if len(names) == 0 {
		return fmt.Errorf("%w: no image to save", images.ErrInvalid)
	}
	var imgs []images.Image
	for _, n := range names {
		img, err := e.Lookup(ctx, ns, n)
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
	}
	t := &tarWriter{tw: tar.NewWriter(w), seen: map[string]bool{}}
	cs := e.Content(ns)
	var err error
	switch format {
	case "", "oci":
		err = saveOCI(ctx, cs, t, imgs)
	case "docker":
		err = saveDocker(ctx, cs, t, imgs, platformOr(plat))
	default:
		err = fmt.Errorf("%w: archive format %q (want oci or docker)", images.ErrInvalid, format)
	}
	if err != nil {
		return err
	}
	if err := t.tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return nil
}

// Load reads an OCI layout or docker save archive (plain or compressed)
// from r into ns under a lease, unpacks and records its images;
// defaultName names an OCI image whose index entry carries no name. On
// error, nothing it added stays.
func (e *Engine) Load(ctx context.Context, ns string, r io.Reader, defaultName string) ([]images.Image, error) {
	var imgs []images.Image
	err := e.WithLease(ctx, ns, "import "+randomRef(), func(ctx context.Context) error {
		var err error
		imgs, err = e.load(ctx, ns, r, defaultName)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		e.events.Publish(ns, events.TopicImages, "create", map[string]string{"name": img.Name, events.AttrVia: "load"})
	}
	return imgs, nil
}

// saveOCI writes imgs, all their present blobs, as an OCI image layout.
func saveOCI(ctx context.Context, cs content.Store, t *tarWriter, imgs []images.Image) error {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	for _, img := range imgs {
		if err := images.Walk(ctx, cs, img.Target, func(desc ocispec.Descriptor) error {
			if _, err := cs.Info(ctx, desc.Digest); err != nil {
				return nil // another platform, not present
			}
			return addBlob(ctx, cs, t, desc)
		}); err != nil {
			return err
		}
		desc := img.Target
		ref, _ := reference.Parse(img.Name)
		desc.Annotations = map[string]string{annotationImageName: img.Name, annotationRefName: ref.Tag}
		idx.Manifests = append(idx.Manifests, desc)
	}
	if err := t.addBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	return t.addBytes("index.json", b)
}

// saveDocker writes the manifests of imgs for p as a docker save archive.
func saveDocker(ctx context.Context, cs content.Store, t *tarWriter, imgs []images.Image, p ocispec.Platform) error {
	var entries []dockerManifestEntry
	repos := map[string]map[string]string{}
	for _, img := range imgs {
		res, err := images.ResolveManifest(ctx, cs, img.Target, p)
		if err != nil {
			return fmt.Errorf("save %s: %w", img.Name, err)
		}
		e := dockerManifestEntry{Config: blobPath(res.ManifestBody.Config)}
		if err := addBlob(ctx, cs, t, res.ManifestBody.Config); err != nil {
			return err
		}
		for _, l := range res.ManifestBody.Layers {
			if err := addBlob(ctx, cs, t, l); err != nil {
				return err
			}
			e.Layers = append(e.Layers, blobPath(l))
		}
		ref, _ := reference.Parse(img.Name)
		if ref.Tag != "" {
			fam := reference.Familiar(ref.Name())
			e.RepoTags = append(e.RepoTags, fam+":"+ref.Tag)
			if repos[fam] == nil {
				repos[fam] = map[string]string{}
			}
			repos[fam][ref.Tag] = res.ManifestBody.Config.Digest.Encoded()
		}
		entries = append(entries, e)
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("encode manifest.json: %w", err)
	}
	if err := t.addBytes("manifest.json", b); err != nil {
		return err
	}
	if b, err = json.Marshal(repos); err != nil {
		return fmt.Errorf("encode repositories: %w", err)
	}
	return t.addBytes("repositories", b)
}
