package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
)

// Writer opens the ingest named opts.Ref. A second Writer for a Ref that
// already has an open writer (in this process or, through flock, another)
// fails at once with content.ErrUnavailable: callers wait and retry, and
// then usually get content.ErrAlreadyExists. An interrupted ingest with
// the same Ref resumes: the existing bytes are re-hashed and
// Status().Offset tells where to continue. When opts.Expected is already
// committed the call fails with content.ErrAlreadyExists.
func (s *Store) Writer(ctx context.Context, opts content.WriterOpts) (content.Writer, error) {
	if opts.Ref == "" {
		return nil, fmt.Errorf("open writer: empty ref: %w", content.ErrInvalidArgument)
	}
	if opts.Size < 0 {
		return nil, fmt.Errorf("open writer %q: negative size %d: %w", opts.Ref, opts.Size, content.ErrInvalidArgument)
	}
	alg := digest.Canonical
	if opts.Expected != "" {
		if err := opts.Expected.Validate(); err != nil {
			return nil, fmt.Errorf("open writer %q: expected digest %q: %v: %w", opts.Ref, opts.Expected, err, content.ErrInvalidArgument)
		}
		alg = opts.Expected.Algorithm()
		if _, err := s.Info(ctx, opts.Expected); err == nil {
			return nil, fmt.Errorf("blob %s: %w", opts.Expected, content.ErrAlreadyExists)
		}
	}
	if !s.tryLock(opts.Ref) {
		return nil, fmt.Errorf("ingest %q: %w", opts.Ref, content.ErrUnavailable)
	}
	w, err := s.openWriter(opts, alg)
	if err != nil {
		s.unlock(opts.Ref)
		return nil, err
	}
	return w, nil
}

func (s *Store) openWriter(opts content.WriterOpts, alg digest.Algorithm) (*writer, error) {
	dir := s.ingestDir(opts.Ref)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create ingest %q: %w", opts.Ref, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock ingest %q: %w", opts.Ref, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("ingest %q: %w", opts.Ref, content.ErrUnavailable)
		}
		return nil, fmt.Errorf("lock ingest %q: %w", opts.Ref, err)
	}
	w := &writer{s: s, dir: dir, ref: opts.Ref, lock: lock, alg: alg, digester: alg.Digester(), total: opts.Size, expected: opts.Expected}
	fail := func(err error) (*writer, error) {
		w.release()
		return nil, err
	}
	// Another process may have committed while we waited for the lock.
	if opts.Expected != "" {
		if _, err := s.Info(context.Background(), opts.Expected); err == nil {
			return fail(fmt.Errorf("blob %s: %w", opts.Expected, content.ErrAlreadyExists))
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fail(fmt.Errorf("open ingest data %q: %w", opts.Ref, err))
	}
	w.f = f
	w.bw = bufio.NewWriterSize(f, writeBuffer)
	// Resume: hash what is already there.
	n, err := io.CopyBuffer(w.digester.Hash(), f, make([]byte, 1<<20))
	if err != nil {
		return fail(fmt.Errorf("rehash ingest %q: %w", opts.Ref, err))
	}
	w.offset = n
	w.startedAt = time.Now()
	if n == 0 {
		if err := s.writeIngestMeta(dir, opts); err != nil {
			return fail(fmt.Errorf("write ingest %q: %w", opts.Ref, err))
		}
	} else if st, err := ingestStatus(dir); err == nil {
		w.startedAt = st.StartedAt
		if w.total == 0 {
			w.total = st.Total
		}
	}
	return w, nil
}

func (s *Store) writeIngestMeta(dir string, opts content.WriterOpts) error {
	files := map[string]string{
		"startedat": time.Now().UTC().Format(time.RFC3339Nano),
		"total":     strconv.FormatInt(opts.Size, 10),
		"expected":  opts.Expected.String(),
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			return err
		}
	}
	// ref last: an ingest is listed only once it is complete.
	return os.WriteFile(filepath.Join(dir, "ref"), []byte(opts.Ref), 0o600)
}

// writeBuffer is how much an ingest buffers before writing: bytes lost
// in a crash are simply re-downloaded (a resume starts at the file size).
const writeBuffer = 1 << 20

// writer is one open ingest.
type writer struct {
	s         *Store
	dir, ref  string
	lock      *os.File
	f         *os.File
	bw        *bufio.Writer // batches the small writes HTTP bodies arrive in
	alg       digest.Algorithm
	digester  digest.Digester
	offset    int64
	total     int64
	expected  digest.Digest
	startedAt time.Time
	updatedAt time.Time
	done      bool
}

// Write appends p; with a declared total it refuses, writing nothing, any
// write that would go past it (the size is a hard cap, not just a check at
// Commit).
func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write ingest %q: %w", w.ref, os.ErrClosed)
	}
	if w.total > 0 && w.offset+int64(len(p)) > w.total {
		return 0, fmt.Errorf("write ingest %q: %d bytes would exceed the declared size %d: %w", w.ref, w.offset+int64(len(p)), w.total, content.ErrSizeMismatch)
	}
	n, err := w.bw.Write(p)
	w.offset += int64(n)
	w.digester.Hash().Write(p[:n])
	w.updatedAt = time.Now()
	if err != nil {
		return n, fmt.Errorf("write ingest %q: %w", w.ref, err)
	}
	return n, nil
}

func (w *writer) Digest() digest.Digest { return w.digester.Digest() }

func (w *writer) Status() (content.Status, error) {
	return content.Status{
		Ref: w.ref, Offset: w.offset, Total: w.total, Expected: w.expected,
		StartedAt: w.startedAt, UpdatedAt: w.updatedAt,
	}, nil
}

func (w *writer) Truncate(size int64) error {
	if size != 0 {
		return fmt.Errorf("truncate ingest %q to %d: only 0 is supported: %w", w.ref, size, content.ErrInvalidArgument)
	}
	w.bw.Reset(w.f)
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate ingest %q: %w", w.ref, err)
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("truncate ingest %q: %w", w.ref, err)
	}
	w.offset = 0
	w.digester = w.alg.Digester()
	return nil
}

// Commit verifies size and digest, then publishes the blob with an atomic
// rename (file and directory fsynced). On a mismatch the ingest is
// discarded (its bytes are wrong) and nothing visible is touched.
func (w *writer) Commit(ctx context.Context, size int64, expected digest.Digest, labels map[string]string) error {
	if w.done {
		return fmt.Errorf("commit ingest %q: %w", w.ref, os.ErrClosed)
	}
	defer w.release()
	if size < 0 {
		return fmt.Errorf("commit %q: negative size %d: %w", w.ref, size, content.ErrInvalidArgument)
	}
	if size > 0 && size != w.offset {
		w.discard()
		return fmt.Errorf("commit %q: wrote %d bytes, expected %d: %w", w.ref, w.offset, size, content.ErrSizeMismatch)
	}
	dgst := w.digester.Digest()
	if expected != "" && expected != dgst {
		w.discard()
		return fmt.Errorf("commit %q: got %s, expected %s: %w", w.ref, dgst, expected, content.ErrDigestMismatch)
	}
	target, err := w.s.BlobPath(dgst)
	if err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("commit %q: flush: %w", w.ref, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("commit %q: sync: %w", w.ref, err)
	}
	if err := w.f.Chmod(0o444); err != nil {
		return fmt.Errorf("commit %q: chmod: %w", w.ref, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("commit %q: close: %w", w.ref, err)
	}
	w.f = nil
	if _, err := os.Stat(target); err == nil {
		w.discard()
		return fmt.Errorf("blob %s: %w", dgst, content.ErrAlreadyExists)
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("commit %q: %w", w.ref, err)
	}
	// Labels first: a blob must never be visible without the labels (gc
	// references) it was committed with; no labels clears stale ones.
	if err := writeLabels(w.s.labelPath(dgst), labels); err != nil {
		return fmt.Errorf("commit %q: labels: %w", w.ref, err)
	}
	if err := os.Rename(filepath.Join(w.dir, "data"), target); err != nil {
		return fmt.Errorf("commit %q: publish: %w", w.ref, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("commit %q: sync dir: %w", w.ref, err)
	}
	w.discard()
	return nil
}

// Close closes the writer and keeps the ingest for a later resume.
func (w *writer) Close() error {
	if w.done {
		return nil
	}
	err := w.bw.Flush()
	w.release()
	if err != nil {
		return fmt.Errorf("close ingest %q: %w", w.ref, err)
	}
	return nil
}

// discard removes the ingest directory.
func (w *writer) discard() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	// Best effort: a leftover ingest is listed and can be aborted.
	_ = os.RemoveAll(w.dir)
}

// release closes files and drops the ingest locks.
func (w *writer) release() {
	if w.done {
		return
	}
	w.done = true
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.lock != nil {
		_ = w.lock.Close() // drops the flock
		w.lock = nil
	}
	w.s.unlock(w.ref)
}
