package metadata

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/jsonfield"
	"github.com/berth-dev/berth/internal/labels"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/snapshot"
)

// snapRecord maps a namespace's snapshot key to the backing
// snapshotter's key ("<ns>/<random>/<key>"; "<ns>/<seq>/<key>" from
// earlier versions), unique forever.
type snapRecord struct {
	BackendKey string            `json:"backendKey"`
	Parent     string            `json:"parent,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Created    time.Time         `json:"created"`
	Updated    time.Time         `json:"updated"`
}

// nsSnapshotter is a snapshotter as one namespace sees it.
type nsSnapshotter struct {
	db      *DB
	ns      string
	name    string
	backend snapshot.Snapshotter
}

// NamespacedSnapshotter returns namespace ns's view of the snapshotter
// registered as name. Snapshots made with a lease in the context are
// added to it. Close on the result does not close the backend.
func (db *DB) NamespacedSnapshotter(ns, name string) (snapshot.Snapshotter, error) {
	if err := ValidateNamespace(ns); err != nil {
		return nil, err
	}
	b, ok := db.snapshotters[name]
	if !ok {
		return nil, fmt.Errorf("snapshotter %q: %w", name, ErrNotFound)
	}
	return &nsSnapshotter{db: db, ns: ns, name: name, backend: b}, nil
}

func (s *nsSnapshotter) bucket(tx *bolt.Tx) *bolt.Bucket {
	return subBucket(tx, s.ns, bucketSnapshots, []byte(s.name))
}

func (s *nsSnapshotter) get(tx *bolt.Tx, key string) (snapRecord, error) {
	var r snapRecord
	ok, err := getJSON(s.bucket(tx), []byte(key), &r)
	if err == nil && !ok {
		err = fmt.Errorf("snapshot %q in namespace %q: %w", key, s.ns, snapshot.ErrNotFound)
	}
	return r, err
}

func (s *nsSnapshotter) getView(key string) (snapRecord, error) {
	var r snapRecord
	err := s.db.view(func(tx *bolt.Tx) error {
		var err error
		r, err = s.get(tx, key)
		return err
	})
	return r, err
}

func (s *nsSnapshotter) leaseResource(key string) Resource {
	return Resource{Type: "snapshots/" + s.name, ID: key}
}

func (s *nsSnapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	r, err := s.getView(key)
	if err != nil {
		return snapshot.Info{}, err
	}
	bi, err := s.backend.Stat(ctx, r.BackendKey)
	if err != nil {
		return snapshot.Info{}, err
	}
	return snapshot.Info{Kind: bi.Kind, Name: key, Parent: r.Parent, Labels: r.Labels, Created: r.Created, Updated: r.Updated}, nil
}

func (s *nsSnapshotter) Update(ctx context.Context, info snapshot.Info, fieldpaths ...string) (snapshot.Info, error) {
	err := s.db.update(func(tx *bolt.Tx) error {
		r, err := s.get(tx, info.Name)
		if err != nil {
			return err
		}
		if r.Labels, err = labels.Apply(r.Labels, info.Labels, fieldpaths); err != nil {
			return err
		}
		r.Updated = time.Now().UTC()
		return putJSON(s.bucket(tx), []byte(info.Name), r)
	})
	if err != nil {
		return snapshot.Info{}, err
	}
	return s.Stat(ctx, info.Name)
}

func (s *nsSnapshotter) Usage(ctx context.Context, key string) (snapshot.Usage, error) {
	r, err := s.getView(key)
	if err != nil {
		return snapshot.Usage{}, err
	}
	return s.backend.Usage(ctx, r.BackendKey)
}

func (s *nsSnapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	r, err := s.getView(key)
	if err != nil {
		return nil, err
	}
	return s.backend.Mounts(ctx, r.BackendKey)
}

func (s *nsSnapshotter) Prepare(ctx context.Context, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	return s.create(ctx, false, key, parent, labels)
}

func (s *nsSnapshotter) View(ctx context.Context, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	return s.create(ctx, true, key, parent, labels)
}

// allocate checks that key is free and returns a new backend key for it.
// It only reads: the random part makes the backend key unique (a key
// removed and made again never meets its old backend snapshot, which a
// failed removal may have left for the collector) without a sequence
// number to write, so a create commits once, its record.
func (s *nsSnapshotter) allocate(tx *bolt.Tx, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("snapshot key is empty: %w", snapshot.ErrInvalid)
	}
	if err := ValidateNamespace(s.ns); err != nil {
		return "", err
	}
	if b := s.bucket(tx); b != nil && b.Get([]byte(key)) != nil {
		return "", fmt.Errorf("snapshot %q in namespace %q: %w", key, s.ns, snapshot.ErrAlreadyExists)
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("snapshot %q: backend key: %w", key, err)
	}
	return fmt.Sprintf("%s/%x/%s", s.ns, r, key), nil
}

// recordBucket is the bucket records are written to, made on first use.
func (s *nsSnapshotter) recordBucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	return createSubBucket(tx, s.ns, bucketSnapshots, []byte(s.name))
}

// create makes the backend snapshot, then records it; the GC lock is
// held shared so the unreferenced backend snapshot is not swept between.
func (s *nsSnapshotter) create(ctx context.Context, view bool, key, parent string, labels map[string]string) ([]snapshot.Mount, error) {
	s.db.gcLock.RLock()
	defer s.db.gcLock.RUnlock()
	var bkey, bparent string
	if err := s.db.view(func(tx *bolt.Tx) error {
		if parent != "" {
			p, err := s.get(tx, parent)
			if err != nil {
				return fmt.Errorf("parent of %q: %w", key, err)
			}
			bparent = p.BackendKey
		}
		var err error
		bkey, err = s.allocate(tx, key)
		return err
	}); err != nil {
		return nil, err
	}
	var (
		mounts []snapshot.Mount
		err    error
	)
	if view {
		mounts, err = s.backend.View(ctx, bkey, bparent, nil)
	} else {
		mounts, err = s.backend.Prepare(ctx, bkey, bparent, nil)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if err := s.db.update(func(tx *bolt.Tx) error {
		b, err := s.recordBucket(tx)
		if err != nil {
			return err
		}
		if b.Get([]byte(key)) != nil {
			return fmt.Errorf("snapshot %q in namespace %q: %w", key, s.ns, snapshot.ErrAlreadyExists)
		}
		if err := putJSON(b, []byte(key), snapRecord{BackendKey: bkey, Parent: parent, Labels: labels, Created: now, Updated: now}); err != nil {
			return err
		}
		return addContextLease(ctx, tx, s.ns, s.leaseResource(key))
	}); err != nil {
		_ = s.backend.Remove(ctx, bkey)
		return nil, err
	}
	return mounts, nil
}

func (s *nsSnapshotter) Commit(ctx context.Context, name, key string, labels map[string]string) error {
	s.db.gcLock.RLock()
	defer s.db.gcLock.RUnlock()
	var (
		r     snapRecord
		nbkey string
	)
	if err := s.db.view(func(tx *bolt.Tx) error {
		var err error
		if r, err = s.get(tx, key); err != nil {
			return err
		}
		nbkey, err = s.allocate(tx, name)
		return err
	}); err != nil {
		return err
	}
	if err := s.backend.Commit(ctx, nbkey, r.BackendKey, nil); err != nil {
		return err
	}
	// Were this transaction to fail, the backend would hold a committed
	// snapshot no record names (collected by gc) and key would name a
	// backend snapshot that no longer exists (Stat reports not found).
	now := time.Now().UTC()
	return s.db.update(func(tx *bolt.Tx) error {
		b := s.bucket(tx)
		if b.Get([]byte(name)) != nil { // committed by another call meanwhile
			return fmt.Errorf("snapshot %q in namespace %q: %w", name, s.ns, snapshot.ErrAlreadyExists)
		}
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		if err := putJSON(b, []byte(name), snapRecord{BackendKey: nbkey, Parent: r.Parent, Labels: labels, Created: now, Updated: now}); err != nil {
			return err
		}
		return addContextLease(ctx, tx, s.ns, s.leaseResource(name))
	})
}

// Remove deletes the namespace's record, then the backend snapshot (a
// failure there leaves it for the garbage collector).
func (s *nsSnapshotter) Remove(ctx context.Context, key string) error {
	var r snapRecord
	if err := s.db.update(func(tx *bolt.Tx) error {
		var err error
		r, err = s.removeRecord(tx, key)
		return err
	}); err != nil {
		return err
	}
	s.removeBackend(ctx, r)()
	return nil
}

// removeRecord deletes key's record in tx, refusing a snapshot with a
// child, and returns it.
func (s *nsSnapshotter) removeRecord(tx *bolt.Tx, key string) (snapRecord, error) {
	r, err := s.get(tx, key)
	if err != nil {
		return r, err
	}
	b := s.bucket(tx)
	// Only records that may name key as their parent are decoded.
	m := jsonfield.New("parent", key)
	var child string
	if err := b.ForEach(func(k, v []byte) error {
		if child != "" || !m.Match(v) {
			return nil
		}
		var c snapRecord
		if _, err := getJSON(b, k, &c); err != nil {
			return err
		}
		if c.Parent == key {
			child = string(k)
		}
		return nil
	}); err != nil {
		return r, err
	}
	if child != "" {
		return r, fmt.Errorf("remove snapshot %q: it has child %q: %w", key, child, snapshot.ErrInvalid)
	}
	return r, b.Delete([]byte(key))
}

// removeBackend returns what removes r's backend snapshot, its record
// gone. The backend snapshot (a record and a directory: a commit and a
// tree to unlink) goes just after, off the caller's path, as
// containerd's collector removes it; if that fails the collector removes
// the unreferenced backend snapshot later.
func (s *nsSnapshotter) removeBackend(ctx context.Context, r snapRecord) func() {
	ctx = context.WithoutCancel(ctx)
	return func() { s.db.removeLater(func() { _ = s.backend.Remove(ctx, r.BackendKey) }) }
}

// Settle waits until the backend snapshots whose records Remove removed
// so far are gone.
func (s *nsSnapshotter) Settle() { s.db.settle() }

func (s *nsSnapshotter) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	var keys []string
	if err := s.db.view(func(tx *bolt.Tx) error {
		b := s.bucket(tx)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	}); err != nil {
		return err
	}
	for _, k := range keys {
		info, err := s.Stat(ctx, k)
		if errors.Is(err, snapshot.ErrNotFound) {
			continue
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

// Close does nothing: the backend belongs to the DB's owner.
func (s *nsSnapshotter) Close() error { return nil }
