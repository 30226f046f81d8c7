package images

import (
	"context"
	"errors"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound       = errors.New("image not found")
	ErrAlreadyExists  = errors.New("image already exists")
	ErrDiffIDMismatch = errors.New("layer does not match the config's diff_id")
	ErrInvalid        = errors.New("invalid image")
)

// Image is a named reference to a manifest or index in the content store.
type Image struct {
	Name      string // normalised reference, e.g. docker.io/library/busybox:latest
	Target    ocispec.Descriptor
	Labels    map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps image records per namespace.
type Store interface {
	Get(ctx context.Context, ns, name string) (Image, error)
	List(ctx context.Context, ns string) ([]Image, error)
	// Put creates or replaces a record (CreatedAt is kept on replace).
	Put(ctx context.Context, ns string, img Image) (Image, error)
	Delete(ctx context.Context, ns, name string) error
}
