package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/opencontainers/go-digest"
)

// OpenWriter opens a writer like Store.Writer but waits (with backoff,
// until ctx ends) while another writer holds the same ref. It returns
// ErrAlreadyExists once the blob has been committed meanwhile.
func OpenWriter(ctx context.Context, s Store, opts WriterOpts) (Writer, error) {
	wait := 5 * time.Millisecond
	for {
		w, err := s.Writer(ctx, opts)
		if !errors.Is(err, ErrUnavailable) {
			return w, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for ingest %q: %w", opts.Ref, ctx.Err())
		case <-t.C:
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}

// WriteBlob stores the blob read from r (size and expected digest as
// known; size 0 or expected "" skip that check), resuming a previous
// partial ingest of ref when r can seek. A blob already present is not
// an error.
func WriteBlob(ctx context.Context, s Store, ref string, r io.Reader, size int64, expected digest.Digest, labels map[string]string) error {
	w, err := OpenWriter(ctx, s, WriterOpts{Ref: ref, Expected: expected, Size: size})
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = w.Close() }()
	st, err := w.Status()
	if err != nil {
		return err
	}
	if st.Offset > 0 {
		if seeker, ok := r.(io.Seeker); ok {
			if _, err := seeker.Seek(st.Offset, io.SeekStart); err != nil {
				return fmt.Errorf("resume %q at %d: %w", ref, st.Offset, err)
			}
		} else if err := w.Truncate(0); err != nil {
			return err
		}
	}
	if _, err := io.CopyBuffer(w, r, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("write %q: %w", ref, err)
	}
	if err := w.Commit(ctx, size, expected, labels); err != nil && !errors.Is(err, ErrAlreadyExists) {
		return err
	}
	return nil
}

// ReadBlob reads a whole blob that is read into memory (a manifest,
// index or config; never a layer). A blob over max bytes, by its
// descriptor or by the store's record, is refused with ErrTooLarge before
// any byte is read, and no more than the stored size is ever read.
func ReadBlob(ctx context.Context, s Store, desc ocispec.Descriptor, max int64) ([]byte, error) {
	if desc.Size > max {
		return nil, fmt.Errorf("read %s: %w: %d bytes, limit %d", desc.Digest, ErrTooLarge, desc.Size, max)
	}
	ra, err := s.ReaderAt(ctx, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", desc.Digest, err)
	}
	defer func() { _ = ra.Close() }()
	if ra.Size() > max {
		return nil, fmt.Errorf("read %s: %w: %d bytes, limit %d", desc.Digest, ErrTooLarge, ra.Size(), max)
	}
	buf := make([]byte, ra.Size())
	if _, err := ra.ReadAt(buf, 0); err != nil && (!errors.Is(err, io.EOF) || len(buf) != 0) {
		return nil, fmt.Errorf("read %s: %w", desc.Digest, err)
	}
	return buf, nil
}
