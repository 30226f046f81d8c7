// Package metadata is Berth's namespaced metadata database (bbolt):
// images, which blobs and snapshots each namespace references, and leases
// that protect in-progress work from garbage collection. Every multi-step
// change is one transaction, so a crash at any point leaves either the
// old or the new state; blobs and snapshots are created in their stores
// before the records that reference them.
package metadata

import (
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/errdefs"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/snapshot"
)

// Errors callers branch on; test with errors.Is.
var (
	ErrNotFound        = errdefs.New(errdefs.ErrNotFound, "metadata: not found")
	ErrAlreadyExists   = errdefs.New(errdefs.ErrAlreadyExists, "metadata: already exists")
	ErrInvalidArgument = errdefs.New(errdefs.ErrInvalidArgument, "metadata: invalid argument")
	// ErrNotEmpty means a namespace still holds objects.
	ErrNotEmpty = errdefs.New(errdefs.ErrFailedPrecondition, "metadata: namespace not empty")
)

// Bucket names. Layout: v1/<namespace>/{labels,images,content,ingests,
// snapshots/<snapshotter>,leases/<id>/{meta,resources},containers,
// containernames}.
var (
	bucketV1        = []byte("v1")
	bucketLabels    = []byte("labels")
	bucketImages    = []byte("images")
	bucketContent   = []byte("content")
	bucketIngests   = []byte("ingests")
	bucketSnapshots = []byte("snapshots")
	bucketLeases    = []byte("leases")
	bucketResources = []byte("resources")
	keyMeta         = []byte("meta")
)

// DB is the metadata database over a content store and snapshotters.
type DB struct {
	db           *bolt.DB
	content      content.Store
	snapshotters map[string]snapshot.Snapshotter

	// gcLock is held shared by operations that create an object in a
	// backing store and then reference it (the reference would be missed
	// by a collection running in between) and exclusively by GC.
	gcLock sync.RWMutex

	// writes queue the update transactions waiting for the one being
	// committed (group commit, update).
	wmu     sync.Mutex
	writes  []*write
	writing bool

	// removals queue the removals of backend snapshots whose records
	// are gone (removeLater); one goroutine runs them while any wait.
	rmu      sync.Mutex
	removals []func()
	// idle is closed when the running goroutine finds the queue empty
	// (nil: none runs).
	idle chan struct{}
}

// write is one queued update: its function and, once committed, its
// result.
type write struct {
	fn  func(*bolt.Tx) error
	err error
	// wake says done (true: err is set) or lead (false: commit the queue).
	wake chan bool
}

// Open opens (creating) the database file at path over a content store
// and named snapshotters (e.g. "overlay", "native").
func Open(path string, cs content.Store, snapshotters map[string]snapshot.Snapshotter) (*DB, error) {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open metadata %s: %w", path, err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketV1)
		return err
	}); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("init metadata %s: %w", path, err)
	}
	if snapshotters == nil {
		snapshotters = map[string]snapshot.Snapshotter{}
	}
	return &DB{db: bdb, content: cs, snapshotters: snapshotters}, nil
}

// Close closes the database (not the stores beneath it), once the
// backend snapshots whose records went are removed.
func (db *DB) Close() error {
	db.settle()
	return db.db.Close()
}

// ContentStore returns the shared, unnamespaced content store beneath.
func (db *DB) ContentStore() content.Store { return db.content }

// Snapshotter returns the unnamespaced snapshotter registered as name.
func (db *DB) Snapshotter(name string) (snapshot.Snapshotter, bool) {
	s, ok := db.snapshotters[name]
	return s, ok
}

// SnapshotterNames lists the registered snapshotters.
func (db *DB) SnapshotterNames() []string {
	var out []string
	for n := range db.snapshotters {
		out = append(out, n)
	}
	return out
}

// LockGC takes the collection lock exclusively (used by package gc),
// once the backend snapshots whose records went are removed.
func (db *DB) LockGC() {
	db.settle()
	db.gcLock.Lock()
}

// removeLater queues f, the removal of a backend snapshot whose record
// is gone, to run after those queued before it (a child's before its
// parent's), off the caller's path. What f leaves, the collector
// removes.
func (db *DB) removeLater(f func()) {
	db.rmu.Lock()
	defer db.rmu.Unlock()
	db.removals = append(db.removals, f)
	if db.idle == nil {
		db.idle = make(chan struct{})
		go db.runRemovals(db.idle)
	}
}

func (db *DB) runRemovals(idle chan struct{}) {
	defer close(idle)
	for {
		db.rmu.Lock()
		if len(db.removals) == 0 {
			db.idle = nil
			db.rmu.Unlock()
			return
		}
		f := db.removals[0]
		db.removals[0] = nil
		db.removals = db.removals[1:]
		db.rmu.Unlock()
		db.gcLock.RLock()
		f()
		db.gcLock.RUnlock()
	}
}

// settle waits until the removals queued so far are done.
func (db *DB) settle() {
	db.rmu.Lock()
	idle := db.idle
	db.rmu.Unlock()
	if idle != nil {
		<-idle
	}
}

// UnlockGC releases the collection lock.
func (db *DB) UnlockGC() { db.gcLock.Unlock() }

func (db *DB) view(fn func(*bolt.Tx) error) error { return db.db.View(fn) }

// update runs fn in a write transaction and commits it. Updates that
// arrive while another commits queue up and are then committed together,
// in arrival order, in one transaction (group commit): bbolt allows one
// writer, and a commit's two fdatasyncs cost the same for one update as
// for ten. An update alone commits at once, never waiting for company.
// When one function of a group fails, every function of the group runs
// again in a transaction of its own, so each gets the result it would
// have had alone: functions must not change what they capture in ways a
// second run would not repeat.
func (db *DB) update(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, wake: make(chan bool, 1)}
	db.wmu.Lock()
	db.writes = append(db.writes, w)
	lead := !db.writing
	db.writing = true
	db.wmu.Unlock()
	if !lead {
		if done := <-w.wake; done {
			return w.err
		}
	}
	// Lead: commit what is queued (w with it), then hand the lead to the
	// first of those that queued meanwhile.
	db.wmu.Lock()
	group := db.writes
	db.writes = nil
	db.wmu.Unlock()
	db.commit(group)
	db.wmu.Lock()
	if len(db.writes) > 0 {
		db.writes[0].wake <- false
	} else {
		db.writing = false
	}
	db.wmu.Unlock()
	return w.err
}

// commit runs group's functions in one transaction, or each in its own
// when one fails, and wakes their callers.
func (db *DB) commit(group []*write) {
	err := db.db.Update(func(tx *bolt.Tx) error {
		for _, w := range group {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	for _, w := range group {
		if err != nil && len(group) > 1 {
			w.err = db.db.Update(w.fn)
		} else {
			w.err = err
		}
		w.wake <- true
	}
}

// nsBucket returns the bucket of namespace ns, or nil.
func nsBucket(tx *bolt.Tx, ns string) *bolt.Bucket {
	return tx.Bucket(bucketV1).Bucket([]byte(ns))
}

// createNS returns namespace ns's bucket, creating it (and so the
// namespace) if needed.
func createNS(tx *bolt.Tx, ns string) (*bolt.Bucket, error) {
	if err := ValidateNamespace(ns); err != nil {
		return nil, err
	}
	b, err := tx.Bucket(bucketV1).CreateBucketIfNotExists([]byte(ns))
	if err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", ns, err)
	}
	if _, err := b.CreateBucketIfNotExists(bucketLabels); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", ns, err)
	}
	return b, nil
}

// subBucket returns a (possibly nested) bucket under namespace ns, or
// nil when any level is missing.
func subBucket(tx *bolt.Tx, ns string, names ...[]byte) *bolt.Bucket {
	b := nsBucket(tx, ns)
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket(n)
	}
	return b
}

// createSubBucket returns a nested bucket under ns, creating every level.
func createSubBucket(tx *bolt.Tx, ns string, names ...[]byte) (*bolt.Bucket, error) {
	b, err := createNS(tx, ns)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if b, err = b.CreateBucketIfNotExists(n); err != nil {
			return nil, fmt.Errorf("namespace %q: create bucket %s: %w", ns, n, err)
		}
	}
	return b, nil
}
