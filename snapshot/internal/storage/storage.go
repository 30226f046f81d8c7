// Package storage keeps a snapshotter's metadata (names, kinds, parents,
// labels and the numeric id that names each snapshot's directory) in a
// bbolt database, every change in one transaction.
package storage

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/jsonfield"
	"github.com/berth-dev/berth/internal/labels"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/snapshot"
)

var bucketName = []byte("snapshots")

// Record is one snapshot's stored metadata.
type Record struct {
	ID      uint64            `json:"id"`
	Kind    snapshot.Kind     `json:"kind"`
	Parent  string            `json:"parent,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
	// Size and Inodes are the usage recorded at commit.
	Size   int64 `json:"size,omitempty"`
	Inodes int64 `json:"inodes,omitempty"`
}

// IDString is the directory name of the snapshot.
func (r Record) IDString() string { return strconv.FormatUint(r.ID, 10) }

// Info converts a record to the public form.
func (r Record) Info(name string) snapshot.Info {
	return snapshot.Info{Kind: r.Kind, Name: name, Parent: r.Parent, Labels: r.Labels, Created: r.Created, Updated: r.Updated}
}

// Store is a snapshotter's metadata database.
type Store struct {
	db *bolt.DB
}

// Open opens (creating) the database at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open snapshot metadata %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init snapshot metadata %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Tx is a transaction on the store.
type Tx struct {
	b *bolt.Bucket
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&Tx{b: tx.Bucket(bucketName)}) })
}

// Update runs fn in a read-write transaction; an error rolls it back.
func (s *Store) Update(fn func(*Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{b: tx.Bucket(bucketName)}) })
}

// Get returns the record of key.
func (t *Tx) Get(key string) (Record, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return Record{}, fmt.Errorf("snapshot %q: %w", key, snapshot.ErrNotFound)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return Record{}, fmt.Errorf("decode snapshot %q: %w", key, err)
	}
	return r, nil
}

// Put stores the record of key.
func (t *Tx) Put(key string, r Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode snapshot %q: %w", key, err)
	}
	if err := t.b.Put([]byte(key), v); err != nil {
		return fmt.Errorf("store snapshot %q: %w", key, err)
	}
	return nil
}

// Create adds a new active or view snapshot key on top of parent and
// returns its record and the records of its ancestors, nearest first.
func (t *Tx) Create(kind snapshot.Kind, key, parent string, labels map[string]string) (Record, []Record, error) {
	if key == "" {
		return Record{}, nil, fmt.Errorf("create snapshot: empty key: %w", snapshot.ErrInvalid)
	}
	if t.b.Get([]byte(key)) != nil {
		return Record{}, nil, fmt.Errorf("snapshot %q: %w", key, snapshot.ErrAlreadyExists)
	}
	var chain []Record
	if parent != "" {
		p, err := t.Get(parent)
		if err != nil {
			return Record{}, nil, fmt.Errorf("parent of %q: %w", key, err)
		}
		if p.Kind != snapshot.KindCommitted {
			return Record{}, nil, fmt.Errorf("parent %q of %q is %s, not committed: %w", parent, key, p.Kind, snapshot.ErrInvalid)
		}
		if chain, err = t.Chain(parent); err != nil {
			return Record{}, nil, err
		}
	}
	id, err := t.b.NextSequence()
	if err != nil {
		return Record{}, nil, fmt.Errorf("allocate snapshot id: %w", err)
	}
	now := time.Now().UTC()
	r := Record{ID: id, Kind: kind, Parent: parent, Labels: labels, Created: now, Updated: now}
	if err := t.Put(key, r); err != nil {
		return Record{}, nil, err
	}
	return r, chain, nil
}

// Chain returns the records of key and its ancestors, key first.
func (t *Tx) Chain(key string) ([]Record, error) {
	var out []Record
	for k := key; k != ""; {
		r, err := t.Get(k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		k = r.Parent
		if len(out) > 10000 {
			return nil, fmt.Errorf("snapshot %q: parent chain loops: %w", key, snapshot.ErrInvalid)
		}
	}
	return out, nil
}

// Commit turns active snapshot key into committed snapshot name, keeping
// its id (and so its directory).
func (t *Tx) Commit(name, key string, labels map[string]string, size, inodes int64) (Record, error) {
	if name == "" {
		return Record{}, fmt.Errorf("commit %q: empty name: %w", key, snapshot.ErrInvalid)
	}
	r, err := t.Get(key)
	if err != nil {
		return Record{}, err
	}
	if r.Kind != snapshot.KindActive {
		return Record{}, fmt.Errorf("commit %q: it is %s, not active: %w", key, r.Kind, snapshot.ErrInvalid)
	}
	if t.b.Get([]byte(name)) != nil {
		return Record{}, fmt.Errorf("commit %q as %q: %w", key, name, snapshot.ErrAlreadyExists)
	}
	if err := t.b.Delete([]byte(key)); err != nil {
		return Record{}, fmt.Errorf("commit %q: %w", key, err)
	}
	r.Kind = snapshot.KindCommitted
	if labels != nil {
		r.Labels = labels
	}
	r.Size, r.Inodes = size, inodes
	r.Updated = time.Now().UTC()
	return r, t.Put(name, r)
}

// Remove deletes key; a snapshot with children is refused.
func (t *Tx) Remove(key string) (Record, error) {
	r, err := t.Get(key)
	if err != nil {
		return Record{}, err
	}
	child, err := t.child(key)
	if err != nil {
		return Record{}, err
	}
	if child != "" {
		return Record{}, fmt.Errorf("remove snapshot %q: it has child %q: %w", key, child, snapshot.ErrInvalid)
	}
	if err := t.b.Delete([]byte(key)); err != nil {
		return Record{}, fmt.Errorf("remove snapshot %q: %w", key, err)
	}
	return r, nil
}

// child returns a child of key, or "" when it has none. Only records
// that may name key as their parent are decoded: a removal among many
// snapshots does not decode them all.
func (t *Tx) child(key string) (string, error) {
	m := jsonfield.New("parent", key)
	var child string
	err := t.b.ForEach(func(k, v []byte) error {
		if child != "" || !m.Match(v) {
			return nil
		}
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode snapshot %q: %w", k, err)
		}
		if r.Parent == key {
			child = string(k)
		}
		return nil
	})
	return child, err
}

// Walk calls fn for every snapshot.
func (t *Tx) Walk(fn func(key string, r Record) error) error {
	return t.b.ForEach(func(k, v []byte) error {
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode snapshot %q: %w", k, err)
		}
		return fn(string(k), r)
	})
}

// UpdateLabels changes key's labels.
func (t *Tx) UpdateLabels(info snapshot.Info, fieldpaths []string) (Record, error) {
	r, err := t.Get(info.Name)
	if err != nil {
		return Record{}, err
	}
	if r.Labels, err = labels.Apply(r.Labels, info.Labels, fieldpaths); err != nil {
		return Record{}, err
	}
	r.Updated = time.Now().UTC()
	return r, t.Put(info.Name, r)
}

// IDs returns the set of directory names in use.
func (t *Tx) IDs() (map[string]bool, error) {
	ids := map[string]bool{}
	err := t.Walk(func(_ string, r Record) error {
		ids[r.IDString()] = true
		return nil
	})
	return ids, err
}
