package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lease protects the resources it lists from garbage collection until it
// is deleted or expires.
type Lease struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"createdAt"`
	ExpiresAt time.Time         `json:"expiresAt,omitempty"` // zero: never
	Labels    map[string]string `json:"labels,omitempty"`
}

// Expired reports whether the lease has expired at now.
func (l Lease) Expired(now time.Time) bool {
	return !l.ExpiresAt.IsZero() && now.After(l.ExpiresAt)
}

// Resource is something a lease holds: Type "content" (ID a digest),
// "ingests" (ID an ingest ref) or "snapshots/<snapshotter>" (ID a key).
type Resource struct {
	Type string
	ID   string
}

func (r Resource) key() ([]byte, error) {
	switch {
	case r.Type == "content", r.Type == "ingests", strings.HasPrefix(r.Type, "snapshots/") && len(r.Type) > len("snapshots/"):
	default:
		return nil, fmt.Errorf("lease resource type %q: %w", r.Type, ErrInvalidArgument)
	}
	if r.ID == "" || strings.ContainsRune(r.Type, 0) {
		return nil, fmt.Errorf("lease resource %q: empty id: %w", r.Type, ErrInvalidArgument)
	}
	return []byte(r.Type + "\x00" + r.ID), nil
}

func parseResource(k []byte) Resource {
	t, id, _ := strings.Cut(string(k), "\x00")
	return Resource{Type: t, ID: id}
}

type leaseKey struct{}

// WithLease returns a context whose content writes and snapshots are
// added to lease id.
func WithLease(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, leaseKey{}, id)
}

// LeaseFromContext returns the lease set by WithLease.
func LeaseFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(leaseKey{}).(string)
	return id, ok && id != ""
}

// Leases is one namespace's lease manager.
type Leases struct {
	db *DB
	ns string
}

// Leases returns namespace ns's lease manager.
func (db *DB) Leases(ns string) *Leases { return &Leases{db: db, ns: ns} }

// Create creates a lease; a zero expiresAt never expires.
func (l *Leases) Create(ctx context.Context, id string, expiresAt time.Time, labels map[string]string) (Lease, error) {
	if id == "" || strings.ContainsRune(id, 0) {
		return Lease{}, fmt.Errorf("lease id %q: %w", id, ErrInvalidArgument)
	}
	lease := Lease{ID: id, CreatedAt: time.Now().UTC(), ExpiresAt: expiresAt, Labels: labels}
	err := l.db.update(func(tx *bolt.Tx) error {
		b, err := createSubBucket(tx, l.ns, bucketLeases)
		if err != nil {
			return err
		}
		if b.Bucket([]byte(id)) != nil {
			return fmt.Errorf("lease %q: %w", id, ErrAlreadyExists)
		}
		lb, err := b.CreateBucket([]byte(id))
		if err != nil {
			return fmt.Errorf("create lease %q: %w", id, err)
		}
		if _, err := lb.CreateBucket(bucketResources); err != nil {
			return fmt.Errorf("create lease %q: %w", id, err)
		}
		return putJSON(lb, keyMeta, lease)
	})
	return lease, err
}

// Delete removes a lease; its resources become collectable.
func (l *Leases) Delete(ctx context.Context, id string) error {
	return l.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, l.ns, bucketLeases)
		if b == nil || b.Bucket([]byte(id)) == nil {
			return fmt.Errorf("lease %q: %w", id, ErrNotFound)
		}
		return b.DeleteBucket([]byte(id))
	})
}

// List lists the namespace's leases.
func (l *Leases) List(ctx context.Context) ([]Lease, error) {
	var out []Lease
	err := l.db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = listLeases(tx, l.ns)
		return err
	})
	return out, err
}

func listLeases(tx *bolt.Tx, ns string) ([]Lease, error) {
	var out []Lease
	b := subBucket(tx, ns, bucketLeases)
	if b == nil {
		return nil, nil
	}
	err := b.ForEachBucket(func(k []byte) error {
		var lease Lease
		if _, err := getJSON(b.Bucket(k), keyMeta, &lease); err != nil {
			return err
		}
		out = append(out, lease)
		return nil
	})
	return out, err
}

// AddResource adds a resource to a lease.
func (l *Leases) AddResource(ctx context.Context, id string, r Resource) error {
	return l.db.update(func(tx *bolt.Tx) error { return addLeaseResource(tx, l.ns, id, r) })
}

func addLeaseResource(tx *bolt.Tx, ns, id string, r Resource) error {
	k, err := r.key()
	if err != nil {
		return err
	}
	b := subBucket(tx, ns, bucketLeases, []byte(id), bucketResources)
	if b == nil {
		return fmt.Errorf("lease %q in namespace %q: %w", id, ns, ErrNotFound)
	}
	return b.Put(k, nil)
}

// addContextLease adds r to the lease in ctx, if any.
func addContextLease(ctx context.Context, tx *bolt.Tx, ns string, r Resource) error {
	if id, ok := LeaseFromContext(ctx); ok {
		return addLeaseResource(tx, ns, id, r)
	}
	return nil
}

// removeContextLease removes r from the lease in ctx, if any.
func removeContextLease(ctx context.Context, tx *bolt.Tx, ns string, r Resource) error {
	id, ok := LeaseFromContext(ctx)
	if !ok {
		return nil
	}
	k, err := r.key()
	if err != nil {
		return err
	}
	if b := subBucket(tx, ns, bucketLeases, []byte(id), bucketResources); b != nil {
		return b.Delete(k)
	}
	return nil
}

// DeleteResource removes a resource from a lease.
func (l *Leases) DeleteResource(ctx context.Context, id string, r Resource) error {
	k, err := r.key()
	if err != nil {
		return err
	}
	return l.db.update(func(tx *bolt.Tx) error {
		b := subBucket(tx, l.ns, bucketLeases, []byte(id), bucketResources)
		if b == nil {
			return fmt.Errorf("lease %q: %w", id, ErrNotFound)
		}
		return b.Delete(k)
	})
}

// ListResources lists a lease's resources.
func (l *Leases) ListResources(ctx context.Context, id string) ([]Resource, error) {
	var out []Resource
	err := l.db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = leaseResources(tx, l.ns, id)
		return err
	})
	return out, err
}

func leaseResources(tx *bolt.Tx, ns, id string) ([]Resource, error) {
	b := subBucket(tx, ns, bucketLeases, []byte(id), bucketResources)
	if b == nil {
		return nil, fmt.Errorf("lease %q: %w", id, ErrNotFound)
	}
	var out []Resource
	err := b.ForEach(func(k, _ []byte) error {
		out = append(out, parseResource(k))
		return nil
	})
	return out, err
}
