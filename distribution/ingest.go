package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// IngestRef is the content ingest name of a blob being fetched; an
// interrupted ingest under it is resumed by the next fetch.
func IngestRef(desc ocispec.Descriptor) string { return "fetch-" + desc.Digest.String() }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// FetchToStore downloads desc into the content store unless it is already
// there, resuming a previously interrupted ingest with a Range request and
// retrying broken transfers from where they stopped. The store verifies
// digest and size: a corrupt blob is rejected with ErrCorruptBlob and its
// ingest discarded, so nothing is stored. A descriptor size that is not
// positive or over its limit is refused before anything is fetched, and a
// server sending more than the declared size fails with ErrBadSize, its
// ingest discarded. report may be nil.
func (c *Client) FetchToStore(ctx context.Context, store content.Store, ref reference.Reference, desc ocispec.Descriptor, labels map[string]string, report func(State, int64)) error {
	if err := c.checkSize(desc); err != nil {
		return err
	}
	if report == nil {
		report = func(State, int64) {}
	}
	if _, err := store.Info(ctx, desc.Digest); err == nil {
		report(StateExists, desc.Size)
		return nil
	}
	w, err := openWriter(ctx, store, desc)
	if errors.Is(err, content.ErrAlreadyExists) {
		report(StateExists, desc.Size)
		return nil
	}
	if err != nil {
		return fmt.Errorf("open ingest for %s: %w", desc.Digest, err)
	}
	defer w.Close()
	// refuse discards the ingest of a blob whose server broke its size.
	refuse := func(err error) error {
		w.Close()
		_ = store.Abort(ctx, IngestRef(desc))
		return fmt.Errorf("%s from %s: %w", desc.Digest, ref.Domain, err)
	}
	var lastErr error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(c.o.Backoff << attempt):
			}
		}
		st, err := w.Status()
		if err != nil {
			return fmt.Errorf("ingest status of %s: %w", desc.Digest, err)
		}
		offset := st.Offset
		if offset > desc.Size {
			if err := w.Truncate(0); err != nil {
				return fmt.Errorf("reset ingest of %s: %w", desc.Digest, err)
			}
			offset = 0
		}
		if offset < desc.Size {
			report(StateDownloading, offset)
			rc, start, err := c.Fetch(ctx, ref, desc, offset)
			if err != nil {
				if errors.Is(err, manifest.ErrBadSize) {
					return refuse(err)
				}
				if ctx.Err() != nil || !errors.Is(err, ErrUnreachable) {
					return err
				}
				lastErr = err
				continue
			}
			if start != offset {
				if err := w.Truncate(0); err != nil {
					rc.Close()
					return fmt.Errorf("reset ingest of %s: %w", desc.Digest, err)
				}
				offset = 0
			}
			err = copyBlob(w, rc, offset, report)
			rc.Close()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, manifest.ErrBadSize) {
					return refuse(err)
				}
				var we *writeError
				if errors.As(err, &we) {
					if errors.Is(we.err, syscall.ENOSPC) || errors.Is(we.err, syscall.EDQUOT) {
						// A full disk: free what the partial download holds.
						w.Close()
						_ = store.Abort(ctx, IngestRef(desc))
					}
					return fmt.Errorf("write %s to the content store: %w", desc.Digest, we.err)
				}
				lastErr = fmt.Errorf("%w: download %s: %v", ErrUnreachable, desc.Digest, err)
				continue
			}
		}
		report(StateVerifying, desc.Size)
		err = w.Commit(ctx, desc.Size, desc.Digest, labels)
		switch {
		case err == nil, errors.Is(err, content.ErrAlreadyExists):
			report(StateDone, desc.Size)
			return nil
		case errors.Is(err, content.ErrDigestMismatch), errors.Is(err, content.ErrSizeMismatch):
			w.Close()
			_ = store.Abort(ctx, IngestRef(desc))
			return fmt.Errorf("%w: %s from %s: %v", ErrCorruptBlob, desc.Digest, ref.Domain, err)
		default:
			return fmt.Errorf("commit %s: %w", desc.Digest, err)
		}
	}
	return lastErr
}

// openWriter opens the blob's ingest; while another pull is downloading
// the same blob it waits for that one to finish (coalescing the two).
func openWriter(ctx context.Context, store content.Store, desc ocispec.Descriptor) (content.Writer, error) {
	delay := 20 * time.Millisecond
	for {
		w, err := store.Writer(ctx, content.WriterOpts{Ref: IngestRef(desc), Expected: desc.Digest, Size: desc.Size})
		if !errors.Is(err, content.ErrUnavailable) {
			return w, err
		}
		if _, err := store.Info(ctx, desc.Digest); err == nil {
			return nil, content.ErrAlreadyExists
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// writeError marks a failure of the local store (not the network).
type writeError struct{ err error }

// Error implements error.
func (e *writeError) Error() string { return e.err.Error() }

// copyBlob copies r (which Fetch caps at the declared size) and reports
// the running offset.
func copyBlob(w io.Writer, r io.Reader, offset int64, report func(State, int64)) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var last time.Time
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return &writeError{werr}
			}
			offset += int64(n)
			if now := time.Now(); now.Sub(last) > 100*time.Millisecond {
				report(StateDownloading, offset)
				last = now
			}
		}
		if err == io.EOF {
			report(StateDownloading, offset)
			return nil
		}
		if err != nil {
			return err
		}
	}
}
