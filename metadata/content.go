package metadata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/labels"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/content"
)

// blobRecord is a namespace's reference to a blob, with its labels.
type blobRecord struct {
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// ingestRecord marks an ingest as belonging to a namespace.
type ingestRecord struct {
	Expected  digest.Digest `json:"expected,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
}

// nsContent is the content store as one namespace sees it: only blobs
// the namespace references (or is ingesting) are visible, and labels are
// per namespace.
type nsContent struct {
	db *DB
	ns string
}

// NamespacedContent returns namespace ns's view of the content store.
// Writes made with a lease in the context (WithLease) are added to it.
// A Writer for a blob already present in another namespace adds it to
// this one and fails with content.ErrAlreadyExists without a download.
func (db *DB) NamespacedContent(ns string) content.Store {
	return &nsContent{db: db, ns: ns}
}

func (c *nsContent) backendRef(ref string) string { return c.ns + "/" + ref }

func (c *nsContent) record(dgst digest.Digest) (blobRecord, error) {
	var r blobRecord
	if err := dgst.Validate(); err != nil {
		return r, fmt.Errorf("content: invalid digest %q: %v: %w", dgst, err, content.ErrInvalidArgument)
	}
	err := c.db.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(subBucket(tx, c.ns, bucketContent), []byte(dgst.String()), &r)
		if err == nil && !ok {
			err = fmt.Errorf("blob %s in namespace %q: %w", dgst, c.ns, content.ErrNotFound)
		}
		return err
	})
	return r, err
}

func (c *nsContent) Info(ctx context.Context, dgst digest.Digest) (content.Info, error) {
	r, err := c.record(dgst)
	if err != nil {
		return content.Info{}, err
	}
	info, err := c.db.content.Info(ctx, dgst)
	if err != nil {
		return content.Info{}, err
	}
	info.Labels, info.CreatedAt, info.UpdatedAt = r.Labels, r.CreatedAt, r.UpdatedAt
	return info, nil
}

func (c *nsContent) Update(ctx context.Context, info content.Info, fieldpaths ...string) (content.Info, error) {
	err := c.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, c.ns, bucketContent)
		var r blobRecord
		ok, err := getJSON(b, []byte(info.Digest.String()), &r)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("blob %s in namespace %q: %w", info.Digest, c.ns, content.ErrNotFound)
		}
		if r.Labels, err = labels.Apply(r.Labels, info.Labels, fieldpaths); err != nil {
			return err
		}
		r.UpdatedAt = time.Now().UTC()
		return putJSON(b, []byte(info.Digest.String()), r)
	})
	if err != nil {
		return content.Info{}, err
	}
	return c.Info(ctx, info.Digest)
}

func (c *nsContent) Walk(ctx context.Context, fn func(content.Info) error) error {
	var dgsts []digest.Digest
	if err := c.db.view(func(tx *bolt.Tx) error {
		b := subBucket(tx, c.ns, bucketContent)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			dgsts = append(dgsts, digest.Digest(k))
			return nil
		})
	}); err != nil {
		return err
	}
	for _, d := range dgsts {
		info, err := c.Info(ctx, d)
		if errors.Is(err, content.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the namespace's reference; the blob itself goes at the
// next garbage collection if no other namespace references it.
func (c *nsContent) Delete(ctx context.Context, dgst digest.Digest) error {
	return c.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, c.ns, bucketContent)
		if b == nil || b.Get([]byte(dgst.String())) == nil {
			return fmt.Errorf("blob %s in namespace %q: %w", dgst, c.ns, content.ErrNotFound)
		}
		return b.Delete([]byte(dgst.String()))
	})
}

func (c *nsContent) ReaderAt(ctx context.Context, dgst digest.Digest) (content.ReaderAt, error) {
	if _, err := c.record(dgst); err != nil {
		return nil, err
	}
	return c.db.content.ReaderAt(ctx, dgst)
}

// addBlob records dgst in the namespace (and the context's lease).
func (c *nsContent) addBlob(ctx context.Context, tx *bolt.Tx, dgst digest.Digest, labels map[string]string) error {
	b, err := createSubBucket(tx, c.ns, bucketContent)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	r := blobRecord{Labels: labels, CreatedAt: now, UpdatedAt: now}
	var old blobRecord
	if ok, _ := getJSON(b, []byte(dgst.String()), &old); ok {
		r.CreatedAt = old.CreatedAt
		if labels == nil {
			r.Labels = old.Labels
		}
	}
	if err := putJSON(b, []byte(dgst.String()), r); err != nil {
		return err
	}
	return addContextLease(ctx, tx, c.ns, Resource{Type: "content", ID: dgst.String()})
}

// shareExisting makes a blob that is already in the backing store
// visible in this namespace.
func (c *nsContent) shareExisting(ctx context.Context, dgst digest.Digest) error {
	c.db.gcLock.RLock()
	defer c.db.gcLock.RUnlock()
	if _, err := c.db.content.Info(ctx, dgst); err != nil {
		return err
	}
	return c.db.update(func(tx *bolt.Tx) error {
		if b := subBucket(tx, c.ns, bucketContent); b != nil && b.Get([]byte(dgst.String())) != nil {
			return addContextLease(ctx, tx, c.ns, Resource{Type: "content", ID: dgst.String()})
		}
		return c.addBlob(ctx, tx, dgst, nil)
	})
}

func (c *nsContent) Writer(ctx context.Context, opts content.WriterOpts) (content.Writer, error) {
	if err := ValidateNamespace(c.ns); err != nil {
		return nil, err
	}
	if opts.Ref == "" {
		return nil, fmt.Errorf("open writer: empty ref: %w", content.ErrInvalidArgument)
	}
	if opts.Expected != "" {
		if err := opts.Expected.Validate(); err != nil {
			return nil, fmt.Errorf("open writer %q: expected digest %q: %v: %w", opts.Ref, opts.Expected, err, content.ErrInvalidArgument)
		}
		if err := c.shareExisting(ctx, opts.Expected); err == nil {
			return nil, fmt.Errorf("blob %s: %w", opts.Expected, content.ErrAlreadyExists)
		} else if !errors.Is(err, content.ErrNotFound) {
			return nil, err
		}
	}
	bopts := opts
	bopts.Ref = c.backendRef(opts.Ref)
	w, err := c.db.content.Writer(ctx, bopts)
	if err != nil {
		if errors.Is(err, content.ErrAlreadyExists) && opts.Expected != "" {
			if serr := c.shareExisting(ctx, opts.Expected); serr != nil {
				return nil, serr
			}
		}
		return nil, err
	}
	if err := c.db.update(func(tx *bolt.Tx) error {
		b, err := createSubBucket(tx, c.ns, bucketIngests)
		if err != nil {
			return err
		}
		if err := putJSON(b, []byte(opts.Ref), ingestRecord{Expected: opts.Expected, CreatedAt: time.Now().UTC()}); err != nil {
			return err
		}
		return addContextLease(ctx, tx, c.ns, Resource{Type: "ingests", ID: opts.Ref})
	}); err != nil {
		_ = w.Close()
		return nil, err
	}
	return &nsWriter{Writer: w, c: c, ref: opts.Ref, ctx: ctx}, nil
}

func (c *nsContent) dropIngest(ref string) error {
	return c.db.update(func(tx *bolt.Tx) error {
		if b := subBucket(tx, c.ns, bucketIngests); b != nil {
			return b.Delete([]byte(ref))
		}
		return nil
	})
}

func (c *nsContent) ListStatuses(ctx context.Context) ([]content.Status, error) {
	refs := map[string]bool{}
	if err := c.db.view(func(tx *bolt.Tx) error {
		b := subBucket(tx, c.ns, bucketIngests)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			refs[string(k)] = true
			return nil
		})
	}); err != nil {
		return nil, err
	}
	all, err := c.db.content.ListStatuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []content.Status
	for _, st := range all {
		ref, ok := strings.CutPrefix(st.Ref, c.ns+"/")
		if ok && refs[ref] {
			st.Ref = ref
			out = append(out, st)
		}
	}
	return out, nil
}

func (c *nsContent) Abort(ctx context.Context, ref string) error {
	if err := c.db.content.Abort(ctx, c.backendRef(ref)); err != nil {
		return err
	}
	return c.dropIngest(ref)
}

// nsWriter records the blob in the namespace when it commits.
type nsWriter struct {
	content.Writer
	c   *nsContent
	ref string
	ctx context.Context
}

func (w *nsWriter) Status() (content.Status, error) {
	st, err := w.Writer.Status() // the backend's, with the backend ref
	st.Ref = w.ref
	return st, err
}

// Commit publishes the blob in the backing store and records it in the
// namespace, with the GC lock held shared so a collection cannot sweep
// the blob between the two steps.
func (w *nsWriter) Commit(ctx context.Context, size int64, expected digest.Digest, labels map[string]string) error {
	c := w.c
	c.db.gcLock.RLock()
	defer c.db.gcLock.RUnlock()
	dgst := w.Digest()
	err := w.Writer.Commit(ctx, size, expected, nil)
	switch {
	case err == nil:
	case errors.Is(err, content.ErrAlreadyExists):
		if expected != "" {
			dgst = expected
		}
	default:
		if errors.Is(err, content.ErrDigestMismatch) || errors.Is(err, content.ErrSizeMismatch) {
			_ = c.dropIngest(w.ref)
		}
		return err
	}
	if uerr := c.db.update(func(tx *bolt.Tx) error {
		if b := subBucket(tx, c.ns, bucketIngests); b != nil {
			if err := b.Delete([]byte(w.ref)); err != nil {
				return err
			}
		}
		lctx := ctx
		if _, ok := LeaseFromContext(ctx); !ok {
			lctx = w.ctx // the lease the writer was opened under
		}
		if err := removeContextLease(lctx, tx, c.ns, Resource{Type: "ingests", ID: w.ref}); err != nil {
			return err
		}
		return c.addBlob(lctx, tx, dgst, labels)
	}); uerr != nil {
		return fmt.Errorf("record blob %s in namespace %q: %w", dgst, c.ns, uerr)
	}
	return err
}
