package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageInfo is an image record with what its config says for one
// platform, when that platform's manifest is present.
type ImageInfo struct {
	images.Image
	// ID is the config digest; empty (with Size, Created and Platform)
	// when no manifest of the image is present.
	ID       string
	Size     int64
	Created  *time.Time
	Platform ocispec.Platform
}

// Inspection is an image with its platform manifest and config.
type Inspection struct {
	ImageInfo
	// ManifestDescriptor is nil when the platform's manifest is absent.
	ManifestDescriptor *ocispec.Descriptor
	Manifest, Config   []byte
}

// List lists ns's images.
func (e *Engine) List(ctx context.Context, ns string) ([]ImageInfo, error) {
	imgs, err := e.imgs.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := make([]ImageInfo, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, e.Describe(ctx, ns, img, nil))
	}
	return out, nil
}

// Describe fills in the config-derived fields for the host platform (or
// plat) when its manifest is present; with plat nil and only another
// platform pulled, it describes that one.
func (e *Engine) Describe(ctx context.Context, ns string, img images.Image, plat *ocispec.Platform) ImageInfo {
	cs := e.Content(ns)
	info := ImageInfo{Image: img}
	res, err := images.ResolveManifest(ctx, cs, img.Target, platformOr(plat))
	if err != nil && plat == nil {
		res, err = anyPresentManifest(ctx, cs, img.Target)
	}
	if err != nil {
		return info
	}
	info.ID = res.ManifestBody.Config.Digest.String()
	info.Size = res.Size()
	info.Created = res.Config.Created
	info.Platform = res.Config.Platform
	return info
}

func platformOr(p *ocispec.Platform) ocispec.Platform {
	if p != nil {
		return *p
	}
	return platforms.Default()
}

// anyPresentManifest resolves the first manifest of an index whose
// content is in the store.
func anyPresentManifest(ctx context.Context, cs content.Store, target ocispec.Descriptor) (*images.Resolved, error) {
	kids, err := images.Children(ctx, cs, target)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		if k.Platform == nil || !manifest.IsManifest(k.MediaType) {
			continue
		}
		if _, err := cs.Info(ctx, k.Digest); err != nil {
			continue
		}
		if res, err := images.ResolveManifest(ctx, cs, target, *k.Platform); err == nil {
			return res, nil
		}
	}
	return nil, fmt.Errorf("%w: no platform of %s is present", images.ErrNotFound, target.Digest)
}

// Inspect looks an image up and reads its manifest and config for plat
// (nil: the host's) when present.
func (e *Engine) Inspect(ctx context.Context, ns, name string, plat *ocispec.Platform) (Inspection, error) {
	img, err := e.Lookup(ctx, ns, name)
	if err != nil {
		return Inspection{}, err
	}
	out := Inspection{ImageInfo: e.Describe(ctx, ns, img, plat)}
	cs := e.Content(ns)
	res, err := images.ResolveManifest(ctx, cs, img.Target, platformOr(plat))
	if err != nil {
		return out, nil
	}
	out.ManifestDescriptor = &res.Manifest
	if out.Manifest, err = images.ReadBlob(ctx, cs, res.Manifest); err != nil {
		return Inspection{}, err
	}
	if out.Config, err = images.ReadBlob(ctx, cs, res.ManifestBody.Config); err != nil {
		return Inspection{}, err
	}
	return out, nil
}

// Tag records target (a reference without digest) for source's image.
func (e *Engine) Tag(ctx context.Context, ns, source, target string) (ImageInfo, error) {
	src, err := e.Lookup(ctx, ns, source)
	if err != nil {
		return ImageInfo{}, err
	}
	ref, err := reference.Parse(target)
	if err != nil {
		return ImageInfo{}, err
	}
	if ref.Digest != "" {
		return ImageInfo{}, fmt.Errorf("%w: tag %q must not carry a digest", reference.ErrInvalid, target)
	}
	img, err := e.imgs.Put(ctx, ns, images.Image{Name: ref.String(), Target: src.Target, Labels: src.Labels})
	if err != nil {
		return ImageInfo{}, err
	}
	e.events.Publish(ns, events.TopicImages, "create", map[string]string{"name": img.Name, events.AttrVia: "tag"})
	return e.Describe(ctx, ns, img, nil), nil
}

// DeleteOptions say how Delete removes an image.
type DeleteOptions struct {
	// Sync collects garbage before returning.
	Sync bool
	// Force removes the last name of an image a container uses (the
	// container keeps its content).
	Force bool
}

// Delete removes an image: the record name names, or, for an ID (or its
// prefix) or a repository digest, every record of that image, which
// needs o.Force when there are several (as Docker's rmi). With o.Sync it
// then collects garbage so the image's blobs and snapshots are gone on
// return, otherwise the engine's scheduler collects them shortly after.
// Removing the last name of an image a container uses is refused with
// ErrConflict unless o.Force, as Docker does.
func (e *Engine) Delete(ctx context.Context, ns, name string, o DeleteOptions) error {
	group, err := e.lookupGroup(ctx, ns, name)
	if err != nil {
		return err
	}
	if len(group) > 1 && !o.Force {
		return fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in %d names", errdefs.ErrConflict, name, len(group))
	}
	if !o.Force {
		if err := e.imageInUse(ctx, ns, group[0]); err != nil {
			return err
		}
	}
	for _, img := range group {
		if err := e.imgs.Delete(ctx, ns, img.Name); err != nil {
			return err
		}
		e.events.Publish(ns, events.TopicImages, "delete", map[string]string{"name": img.Name})
	}
	if o.Sync {
		_, err = e.GC(ctx)
		return err
	}
	e.scheduleGC()
	return nil
}

// Resolve asks ref's registry for the descriptor ref names.
func (e *Engine) Resolve(ctx context.Context, ref string, auth Auth) (ocispec.Descriptor, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return e.client(auth).Resolve(ctx, r)
}

// PullOptions tunes a pull.
type PullOptions struct {
	// Platform to select from an index; nil means the host's.
	Platform *ocispec.Platform
	Auth     Auth
	Progress distribution.ProgressFunc
	// AllowForeign downloads non-distributable layers (also when the
	// engine's RegistryConfig allows them).
	AllowForeign bool
	// NoUnpack only fetches.
	NoUnpack bool
}

// Pull fetches ref into ns, unpacks it (unless o.NoUnpack) and records
// the image, all under a lease so an interrupted pull resumes.
func (e *Engine) Pull(ctx context.Context, ns, ref string, o PullOptions) (images.Image, error) {
	sn, err := e.Snapshotter(ns)
	if err != nil {
		return images.Image{}, err
	}
	cs := e.Content(ns)
	p := &images.Puller{
		Client:          e.client(o.Auth),
		Content:         cs,
		Unpacker:        &images.Unpacker{Content: cs, Snapshotter: sn, ReadAhead: e.cfg.ReadAhead},
		Images:          e.imgs,
		Concurrency:     e.cfg.Registry.MaxConcurrentDownloads,
		SnapshotterName: e.cfg.Snapshotter,
	}
	e.log.Info("pull", "ref", ref, "namespace", ns)
	var res *images.PullResult
	err = e.WithLease(ctx, ns, "pull "+ref, func(ctx context.Context) error {
		res, err = p.Pull(ctx, ref, images.PullOptions{
			Namespace:    ns,
			Platform:     o.Platform,
			Progress:     o.Progress,
			AllowForeign: o.AllowForeign || e.cfg.Registry.AllowForeignLayers,
			NoUnpack:     o.NoUnpack,
		})
		return err
	})
	if err != nil {
		e.log.Warn("pull failed", "ref", ref, "err", err)
		return images.Image{}, err
	}
	e.events.Publish(ns, events.TopicImages, "create", map[string]string{"name": res.Image.Name, "digest": res.Image.Target.Digest.String(), events.AttrVia: "pull"})
	return res.Image, nil
}

// Push uploads the image name to remote (its own name when empty),
// mounting blobs from its source repository on the same registry.
func (e *Engine) Push(ctx context.Context, ns, name, remote string, auth Auth, progress distribution.ProgressFunc) (images.Image, error) {
	img, err := e.Lookup(ctx, ns, name)
	if err != nil {
		return images.Image{}, err
	}
	if remote == "" {
		remote = img.Name
	}
	ref, err := reference.Parse(remote)
	if err != nil {
		return images.Image{}, err
	}
	mountFrom := ""
	if src, err := reference.Parse(img.Name); err == nil && src.Domain == ref.Domain {
		mountFrom = src.Path
	}
	if err := e.client(auth).PushFrom(ctx, e.Content(ns), ref, img.Target, mountFrom, progress); err != nil {
		return images.Image{}, fmt.Errorf("push %s: %w", ref, err)
	}
	e.events.Publish(ns, events.TopicImages, "push", map[string]string{"name": img.Name, "remote": ref.String()})
	return img, nil
}

// Login checks credentials against a registry host (docker.io when
// empty).
func (e *Engine) Login(ctx context.Context, host string, c credentials.Credentials) error {
	if host == "" {
		host = reference.DefaultDomain
	}
	return e.client(Auth{host: c}).Ping(ctx, host)
}

// imageInUse refuses to remove img's name if it is the image's last and
// a container uses the image.
func (e *Engine) imageInUse(ctx context.Context, ns string, img images.Image) error {
	all, err := e.imgs.List(ctx, ns)
	if err != nil {
		return err
	}
	for _, other := range all {
		if other.Name != img.Name && other.Target.Digest == img.Target.Digest {
			return nil // another name keeps it
		}
	}
	res, err := images.ResolveManifest(ctx, e.Content(ns), img.Target, platforms.Default())
	if err != nil {
		return nil // not runnable here: no container uses it
	}
	id := res.ManifestBody.Config.Digest.String()
	ctrs, err := e.meta.Containers().List(ctx, ns)
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if c.ImageID == id {
			return fmt.Errorf("%w: unable to remove repository reference %q (must force) - container %.12s is using its referenced image %.12s",
				errdefs.ErrConflict, img.Name, c.ID, res.ManifestBody.Config.Digest.Encoded())
		}
	}
	return nil
}
