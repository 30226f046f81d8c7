package metadata

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// Image is a name pointing at a manifest or index.
type Image struct {
	Name      string             `json:"name"`
	Target    ocispec.Descriptor `json:"target"`
	Labels    map[string]string  `json:"labels,omitempty"`
	CreatedAt time.Time          `json:"createdAt"`
	UpdatedAt time.Time          `json:"updatedAt"`
}

// Images is one namespace's image store.
type Images struct {
	db *DB
	ns string
}

// Images returns namespace ns's image store.
func (db *DB) Images(ns string) *Images { return &Images{db: db, ns: ns} }

func validateImage(img Image) error {
	if img.Name == "" || strings.ContainsAny(img.Name, "\x00\n") {
		return fmt.Errorf("image name %q: %w", img.Name, ErrInvalidArgument)
	}
	if img.Target.MediaType == "" {
		return fmt.Errorf("image %q: target has no media type: %w", img.Name, ErrInvalidArgument)
	}
	if err := img.Target.Digest.Validate(); err != nil {
		return fmt.Errorf("image %q: target digest %q: %v: %w", img.Name, img.Target.Digest, err, ErrInvalidArgument)
	}
	if img.Target.Size <= 0 {
		return fmt.Errorf("image %q: target size %d: %w", img.Name, img.Target.Size, ErrInvalidArgument)
	}
	return nil
}

// Get returns an image.
func (s *Images) Get(ctx context.Context, name string) (Image, error) {
	var img Image
	err := s.db.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(subBucket(tx, s.ns, bucketImages), []byte(name), &img)
		if err == nil && !ok {
			err = fmt.Errorf("image %q in namespace %q: %w", name, s.ns, ErrNotFound)
		}
		return err
	})
	return img, err
}

// List lists the namespace's images.
func (s *Images) List(ctx context.Context) ([]Image, error) {
	var out []Image
	err := s.db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = listImages(tx, s.ns)
		return err
	})
	return out, err
}

func listImages(tx *bolt.Tx, ns string) ([]Image, error) {
	var out []Image
	b := subBucket(tx, ns, bucketImages)
	if b == nil {
		return nil, nil
	}
	err := b.ForEach(func(k, _ []byte) error {
		var img Image
		if _, err := getJSON(b, k, &img); err != nil {
			return err
		}
		out = append(out, img)
		return nil
	})
	return out, err
}

// Create records a new image (creating the namespace if needed). Its
// target blob must already be in the namespace's content: an image is
// never visible before what it points at.
func (s *Images) Create(ctx context.Context, img Image) (Image, error) {
	if err := validateImage(img); err != nil {
		return Image{}, err
	}
	err := s.db.update(func(tx *bolt.Tx) error {
		b, err := createSubBucket(tx, s.ns, bucketImages)
		if err != nil {
			return err
		}
		if b.Get([]byte(img.Name)) != nil {
			return fmt.Errorf("image %q in namespace %q: %w", img.Name, s.ns, ErrAlreadyExists)
		}
		if err := requireContent(tx, s.ns, img); err != nil {
			return err
		}
		now := time.Now().UTC()
		img.CreatedAt, img.UpdatedAt = now, now
		return putJSON(b, []byte(img.Name), img)
	})
	return img, err
}

func requireContent(tx *bolt.Tx, ns string, img Image) error {
	cb := subBucket(tx, ns, bucketContent)
	if cb == nil || cb.Get([]byte(img.Target.Digest.String())) == nil {
		return fmt.Errorf("image %q: target %s is not in namespace %q's content (commit blobs before the image): %w", img.Name, img.Target.Digest, ns, ErrNotFound)
	}
	return nil
}

// Update changes an image. fieldpaths may be "target", "labels" or
// "labels.<key>"; none updates target and labels.
func (s *Images) Update(ctx context.Context, img Image, fieldpaths ...string) (Image, error) {
	var out Image
	err := s.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, s.ns, bucketImages)
		var cur Image
		ok, err := getJSON(b, []byte(img.Name), &cur)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("image %q in namespace %q: %w", img.Name, s.ns, ErrNotFound)
		}
		if len(fieldpaths) == 0 {
			fieldpaths = []string{"target", "labels"}
		}
		for _, fp := range fieldpaths {
			switch {
			case fp == "target":
				cur.Target = img.Target
			case fp == "labels":
				cur.Labels = maps.Clone(img.Labels)
			case strings.HasPrefix(fp, "labels."):
				k := strings.TrimPrefix(fp, "labels.")
				if cur.Labels == nil {
					cur.Labels = map[string]string{}
				}
				if v, ok := img.Labels[k]; ok {
					cur.Labels[k] = v
				} else {
					delete(cur.Labels, k)
				}
			default:
				return fmt.Errorf("update image %q: unknown field %q: %w", img.Name, fp, ErrInvalidArgument)
			}
		}
		if err := validateImage(cur); err != nil {
			return err
		}
		if err := requireContent(tx, s.ns, cur); err != nil {
			return err
		}
		cur.UpdatedAt = time.Now().UTC()
		out = cur
		return putJSON(b, []byte(cur.Name), cur)
	})
	return out, err
}

// Delete removes an image record (its blobs go at the next GC).
func (s *Images) Delete(ctx context.Context, name string) error {
	return s.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, s.ns, bucketImages)
		if b == nil || b.Get([]byte(name)) == nil {
			return fmt.Errorf("image %q in namespace %q: %w", name, s.ns, ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
}
