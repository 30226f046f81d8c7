package images

import (
	"context"
	"time"

	"github.com/berth-dev/berth/errdefs"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound       = errdefs.New(errdefs.ErrNotFound, "image not found")
	ErrAlreadyExists  = errdefs.New(errdefs.ErrAlreadyExists, "image already exists")
	ErrDiffIDMismatch = errdefs.New(errdefs.ErrDataLoss, "layer does not match the config's diff_id")
	ErrInvalid        = errdefs.New(errdefs.ErrInvalidArgument, "invalid image")
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
