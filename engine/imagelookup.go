package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
)

// Lookup finds an image by reference; by repository digest (name@digest
// where name's repository has a record of that digest); or by a prefix
// (≥ 4 hex digits) of its ID or target digest. The names of one image
// (one ID) are one image: Lookup then returns the first by name. A
// prefix matching several images is ambiguous (invalid argument).
func (e *Engine) Lookup(ctx context.Context, ns, name string) (images.Image, error) {
	group, err := e.lookupGroup(ctx, ns, name)
	if err != nil {
		return images.Image{}, err
	}
	return group[0], nil
}

// ImageNames returns every record of the image ref designates (its name,
// repository digest, ID or ID prefix): the records that share its ID,
// sorted by name, or, for a record whose manifest for any platform is
// absent, those sharing its target digest.
func (e *Engine) ImageNames(ctx context.Context, ns, ref string) ([]images.Image, error) {
	img, err := e.Lookup(ctx, ns, ref)
	if err != nil {
		return nil, err
	}
	all, err := e.imgs.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	key := e.imageKey(ctx, ns, img)
	var out []images.Image
	for _, o := range all {
		if o.Target.Digest == img.Target.Digest || e.imageKey(ctx, ns, o) == key {
			out = append(out, o)
		}
	}
	return out, nil
}

// lookupGroup returns the records name designates, first the one Lookup
// answers: one record for a name; for a repository digest, the records
// of that repository with that digest; for an ID or its prefix, the
// records of that image.
func (e *Engine) lookupGroup(ctx context.Context, ns, name string) ([]images.Image, error) {
	ref, refErr := reference.Parse(name)
	if refErr == nil {
		if img, err := e.imgs.Get(ctx, ns, ref.String()); err == nil {
			return []images.Image{img}, nil
		}
	}
	all, err := e.imgs.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	if refErr == nil && ref.Digest != "" {
		if group := byRepoDigest(all, ref); len(group) > 0 {
			return group, nil
		}
	}
	id := strings.TrimPrefix(name, "sha256:")
	if len(id) < 4 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %s", images.ErrNotFound, name)
	}
	var keys []string
	byKey := map[string][]images.Image{}
	for _, img := range all {
		key := e.imageKey(ctx, ns, img)
		if !strings.HasPrefix(strings.TrimPrefix(key, "sha256:"), id) && !strings.HasPrefix(img.Target.Digest.Encoded(), id) {
			continue
		}
		if byKey[key] == nil {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], img)
	}
	switch len(keys) {
	case 0:
		return nil, fmt.Errorf("%w: %s", images.ErrNotFound, name)
	case 1:
		return byKey[keys[0]], nil
	}
	return nil, fmt.Errorf("%w: %s matches %d images; give more of the ID or a name", images.ErrInvalid, name, len(keys))
}

// byRepoDigest returns the records of ref's repository whose target is
// ref's digest.
func byRepoDigest(all []images.Image, ref reference.Reference) []images.Image {
	var out []images.Image
	for _, img := range all {
		r, err := reference.Parse(img.Name)
		if err == nil && r.Name() == ref.Name() && img.Target.Digest == ref.Digest {
			out = append(out, img)
		}
	}
	return out
}

// imageKey is what identifies img's image: its ID (config digest) when
// a manifest of it is present, else its target digest.
func (e *Engine) imageKey(ctx context.Context, ns string, img images.Image) string {
	if id := e.Describe(ctx, ns, img, nil).ID; id != "" {
		return id
	}
	return img.Target.Digest.String()
}
