// Package snapshot defines Berth's snapshotters: layered filesystem trees
// (committed snapshots for image layers, active ones for containers) handed
// out as lists of mounts.
package snapshot

import (
	"context"
	"time"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/mount"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound      = errdefs.New(errdefs.ErrNotFound, "snapshot: not found")
	ErrAlreadyExists = errdefs.New(errdefs.ErrAlreadyExists, "snapshot: already exists")
	ErrInvalid       = errdefs.New(errdefs.ErrInvalidArgument, "snapshot: invalid argument")
)

// Kind is the kind of a snapshot.
type Kind int

// The kinds of snapshot.
const (
	KindUnknown Kind = iota
	KindView
	KindActive
	KindCommitted
)

// Info describes a snapshot.
type Info struct {
	Kind    Kind
	Name    string
	Parent  string
	Labels  map[string]string
	Created time.Time
	Updated time.Time
}

// Usage is the disk usage of a snapshot's own layer.
type Usage struct {
	Inodes int64
	Size   int64
}

// Mount is one mount to perform. It is package mount's type, named here
// too because every snapshotter's method set speaks of it.
type Mount = mount.Mount

// Snapshotter manages snapshots. Names are the caller's keys (image layers
// are committed under their chain ID).
type Snapshotter interface {
	Stat(ctx context.Context, key string) (Info, error)
	Update(ctx context.Context, info Info, fieldpaths ...string) (Info, error)
	Usage(ctx context.Context, key string) (Usage, error)
	// Mounts returns the mounts of an active or view snapshot.
	Mounts(ctx context.Context, key string) ([]Mount, error)
	// Prepare creates an active snapshot on top of parent ("" for none).
	Prepare(ctx context.Context, key, parent string, labels map[string]string) ([]Mount, error)
	// View creates a read-only snapshot on top of parent.
	View(ctx context.Context, key, parent string, labels map[string]string) ([]Mount, error)
	// Commit turns active snapshot key into committed snapshot name.
	Commit(ctx context.Context, name, key string, labels map[string]string) error
	Remove(ctx context.Context, key string) error
	Walk(ctx context.Context, fn func(Info) error) error
	Close() error
}

// String names a kind.
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindActive:
		return "active"
	case KindCommitted:
		return "committed"
	default:
		return "unknown"
	}
}
