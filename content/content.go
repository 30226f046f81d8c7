// Package content is Berth's content-addressable blob store: every blob is
// named by its digest, verified against digest and size before it becomes
// visible, and committed atomically.
package content

import (
	"context"
	"io"
	"time"

	"github.com/berth-dev/berth/errdefs"

	"github.com/opencontainers/go-digest"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound       = errdefs.New(errdefs.ErrNotFound, "content: not found")
	ErrAlreadyExists  = errdefs.New(errdefs.ErrAlreadyExists, "content: already exists")
	ErrDigestMismatch = errdefs.New(errdefs.ErrDataLoss, "content: digest mismatch")
	ErrSizeMismatch   = errdefs.New(errdefs.ErrDataLoss, "content: size mismatch")
	// ErrUnavailable means another writer holds the ingest with the same
	// Ref; wait and retry (the blob usually turns up as ErrAlreadyExists).
	ErrUnavailable = errdefs.New(errdefs.ErrConflict, "content: ingest locked, unavailable")
	// ErrTooLarge means a blob over the caller's limit (see ReadBlob).
	ErrTooLarge = errdefs.New(errdefs.ErrInvalidArgument, "content: blob too large")
	// ErrInvalidArgument means a malformed request (bad digest, field).
	ErrInvalidArgument = errdefs.New(errdefs.ErrInvalidArgument, "content: invalid argument")
)

// Info describes a committed blob.
type Info struct {
	Digest    digest.Digest
	Size      int64
	CreatedAt time.Time
	UpdatedAt time.Time
	Labels    map[string]string
}

// Status describes an in-progress write (an ingest) that can be resumed.
type Status struct {
	Ref       string
	Offset    int64
	Total     int64
	Expected  digest.Digest
	StartedAt time.Time
	UpdatedAt time.Time
}

// ReaderAt reads a committed blob at random offsets.
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Writer writes one blob. Commit verifies size and digest and makes the blob
// visible atomically; a failed Commit leaves nothing visible.
type Writer interface {
	io.WriteCloser
	// Digest is the digest of what was written so far.
	Digest() digest.Digest
	// Status reports the ingest's progress (Offset is resumable).
	Status() (Status, error)
	// Commit verifies and publishes the blob. size == 0 or expected == ""
	// skip that check (for local producers that cannot know them); a
	// negative size is refused.
	Commit(ctx context.Context, size int64, expected digest.Digest, labels map[string]string) error
	// Truncate resets the ingest to size bytes (only 0 is required).
	Truncate(size int64) error
}

// WriterOpts describes a writer to open.
type WriterOpts struct {
	// Ref names the ingest; writers with the same Ref are coalesced: a
	// second opener gets ErrUnavailable at once while the first is open
	// (retry after a pause; once the blob is committed the retry gets
	// ErrAlreadyExists), and an interrupted ingest with the same Ref
	// resumes at its Status().Offset.
	Ref string
	// Expected is the descriptor's digest and size when known. A positive
	// Size is a hard cap: a Write past it fails (ErrSizeMismatch) and
	// writes nothing. 0 means unknown; negative is ErrInvalidArgument.
	// Whoever writes what a remote declared (a registry) must refuse a
	// non-positive size before opening the writer.
	Expected digest.Digest
	Size     int64
}

// Store is the content store.
type Store interface {
	Info(ctx context.Context, dgst digest.Digest) (Info, error)
	// Update changes labels; fieldpaths like "labels.foo" limit the update.
	Update(ctx context.Context, info Info, fieldpaths ...string) (Info, error)
	Walk(ctx context.Context, fn func(Info) error) error
	Delete(ctx context.Context, dgst digest.Digest) error
	ReaderAt(ctx context.Context, dgst digest.Digest) (ReaderAt, error)
	Writer(ctx context.Context, opts WriterOpts) (Writer, error)
	// ListStatuses lists in-progress ingests.
	ListStatuses(ctx context.Context) ([]Status, error)
	Abort(ctx context.Context, ref string) error
}
