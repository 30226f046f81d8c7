// Package local is Berth's on-disk content store: blobs live at
// root/blobs/<algorithm>/<hex>, in-progress writes under
// root/ingest/<sha256 of ref>/, and labels in small sidecar files under
// root/labels/<algorithm>/<hex>.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/labels"

	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
)

// Store is the local content store. It implements content.Store.
type Store struct {
	root string

	mu     sync.Mutex
	locked map[string]struct{} // refs with an open Writer in this process

	labelsMu sync.Mutex // serialises label read-modify-write updates
}

var _ content.Store = (*Store)(nil)

// NewStore opens (creating if needed) a content store rooted at root.
func NewStore(root string) (content.Store, error) {
	return Open(root)
}

// Open is NewStore returning the concrete type.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("content store: empty root")
	}
	for _, d := range []string{"blobs", "ingest", "labels"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("content store: create %s: %w", d, err)
		}
	}
	return &Store{root: root, locked: map[string]struct{}{}}, nil
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// BlobPath returns where a committed blob lives (it may not exist).
func (s *Store) BlobPath(dgst digest.Digest) (string, error) {
	if err := dgst.Validate(); err != nil {
		return "", fmt.Errorf("content: invalid digest %q: %v: %w", dgst, err, content.ErrInvalidArgument)
	}
	return filepath.Join(s.root, "blobs", dgst.Algorithm().String(), dgst.Encoded()), nil
}

func (s *Store) labelPath(dgst digest.Digest) string {
	return filepath.Join(s.root, "labels", dgst.Algorithm().String(), dgst.Encoded())
}

// Info returns a committed blob's size, times and labels.
func (s *Store) Info(ctx context.Context, dgst digest.Digest) (content.Info, error) {
	p, err := s.BlobPath(dgst)
	if err != nil {
		return content.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return content.Info{}, fmt.Errorf("blob %s: %w", dgst, content.ErrNotFound)
		}
		return content.Info{}, fmt.Errorf("stat blob %s: %w", dgst, err)
	}
	return s.info(dgst, fi)
}

func (s *Store) info(dgst digest.Digest, fi fs.FileInfo) (content.Info, error) {
	labels, updated, err := readLabels(s.labelPath(dgst))
	if err != nil {
		return content.Info{}, fmt.Errorf("labels of %s: %w", dgst, err)
	}
	created := fi.ModTime()
	if updated.IsZero() || updated.Before(created) {
		updated = created
	}
	return content.Info{Digest: dgst, Size: fi.Size(), CreatedAt: created, UpdatedAt: updated, Labels: labels}, nil
}

// Update changes a blob's labels. With no fieldpaths, or "labels", the
// labels are replaced; "labels.<key>" sets (or, when absent from info,
// removes) one label.
func (s *Store) Update(ctx context.Context, info content.Info, fieldpaths ...string) (content.Info, error) {
	s.labelsMu.Lock()
	defer s.labelsMu.Unlock()
	cur, err := s.Info(ctx, info.Digest)
	if err != nil {
		return content.Info{}, err
	}
	lbls, err := labels.Apply(cur.Labels, info.Labels, fieldpaths)
	if err != nil {
		return content.Info{}, err
	}
	if err := writeLabels(s.labelPath(info.Digest), lbls); err != nil {
		return content.Info{}, fmt.Errorf("update labels of %s: %w", info.Digest, err)
	}
	return s.Info(ctx, info.Digest)
}

// Walk calls fn for every committed blob.
func (s *Store) Walk(ctx context.Context, fn func(content.Info) error) error {
	algs, err := os.ReadDir(filepath.Join(s.root, "blobs"))
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	for _, a := range algs {
		alg := digest.Algorithm(a.Name())
		if !a.IsDir() || !alg.Available() {
			continue
		}
		dir := filepath.Join(s.root, "blobs", a.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			dgst := digest.NewDigestFromEncoded(alg, e.Name())
			if dgst.Validate() != nil || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return fmt.Errorf("walk blobs: %w", err)
			}
			info, err := s.info(dgst, fi)
			if err != nil {
				return err
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes a committed blob and its labels.
func (s *Store) Delete(ctx context.Context, dgst digest.Digest) error {
	p, err := s.BlobPath(dgst)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete blob %s: %w", dgst, content.ErrNotFound)
		}
		return fmt.Errorf("delete blob %s: %w", dgst, err)
	}
	if err := os.Remove(s.labelPath(dgst)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete labels of %s: %w", dgst, err)
	}
	return nil
}

// ReaderAt opens a committed blob for reading.
func (s *Store) ReaderAt(ctx context.Context, dgst digest.Digest) (content.ReaderAt, error) {
	p, err := s.BlobPath(dgst)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob %s: %w", dgst, content.ErrNotFound)
		}
		return nil, fmt.Errorf("open blob %s: %w", dgst, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat blob %s: %w", dgst, err)
	}
	return &readerAt{File: f, size: fi.Size()}, nil
}

type readerAt struct {
	*os.File
	size int64
}

func (r *readerAt) Size() int64 { return r.size }

// fileTime returns a file's modification time, or zero.
func fileTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	}
	return fi.ModTime()
}
