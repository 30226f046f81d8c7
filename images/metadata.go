package images

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/metadata"
)

// MetadataStore adapts the metadata database's per-namespace image
// records to Store.
func MetadataStore(db *metadata.DB) Store { return metaStore{db: db} }

type metaStore struct{ db *metadata.DB }

func fromMeta(m metadata.Image) Image {
	return Image{Name: m.Name, Target: m.Target, Labels: m.Labels, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func notFound(err error, name string) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return err
}

// Get implements Store.
func (m metaStore) Get(ctx context.Context, ns, name string) (Image, error) {
	img, err := m.db.Images(ns).Get(ctx, name)
	if err != nil {
		return Image{}, notFound(err, name)
	}
	return fromMeta(img), nil
}

// List implements Store.
func (m metaStore) List(ctx context.Context, ns string) ([]Image, error) {
	list, err := m.db.Images(ns).List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(list))
	for _, img := range list {
		out = append(out, fromMeta(img))
	}
	return out, nil
}

// Put implements Store: create, or replace target and labels.
func (m metaStore) Put(ctx context.Context, ns string, img Image) (Image, error) {
	rec := metadata.Image{Name: img.Name, Target: img.Target, Labels: img.Labels}
	out, err := m.db.Images(ns).Create(ctx, rec)
	if errors.Is(err, metadata.ErrAlreadyExists) {
		out, err = m.db.Images(ns).Update(ctx, rec)
	}
	if err != nil {
		return Image{}, fmt.Errorf("record image %s: %w", img.Name, err)
	}
	return fromMeta(out), nil
}

// Delete implements Store.
func (m metaStore) Delete(ctx context.Context, ns, name string) error {
	return notFound(m.db.Images(ns).Delete(ctx, name), name)
}
