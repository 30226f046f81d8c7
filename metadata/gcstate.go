package metadata

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"
)

// SnapshotRef is a namespace's snapshot record, as the collector sees it.
type SnapshotRef struct {
	BackendKey string
	Parent     string
	Labels     map[string]string
}

// LeaseRefs is a lease with its resources.
type LeaseRefs struct {
	Lease
	Resources []Resource
}

// NamespaceRefs is everything one namespace references.
type NamespaceRefs struct {
	Images    []Image
	Content   map[digest.Digest]map[string]string // digest → labels
	Snapshots map[string]map[string]SnapshotRef   // snapshotter → key → record
	Leases    []LeaseRefs
	// Containers keep their image manifest and snapshot.
	Containers []Container
}

// GCState reads every namespace's references in one transaction. The
// collector calls it with LockGC held.
func (db *DB) GCState(ctx context.Context) (map[string]*NamespaceRefs, error) {
	out := map[string]*NamespaceRefs{}
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketV1).ForEachBucket(func(k []byte) error {
			ns := string(k)
			refs := &NamespaceRefs{Content: map[digest.Digest]map[string]string{}, Snapshots: map[string]map[string]SnapshotRef{}}
			out[ns] = refs
			var err error
			if refs.Images, err = listImages(tx, ns); err != nil {
				return err
			}
			if refs.Containers, err = listContainers(tx, ns); err != nil {
				return err
			}
			if b := subBucket(tx, ns, bucketContent); b != nil {
				if err := b.ForEach(func(k, _ []byte) error {
					var r blobRecord
					if _, err := getJSON(b, k, &r); err != nil {
						return err
					}
					refs.Content[digest.Digest(k)] = r.Labels
					return nil
				}); err != nil {
					return err
				}
			}
			if sb := subBucket(tx, ns, bucketSnapshots); sb != nil {
				if err := sb.ForEachBucket(func(name []byte) error {
					m := map[string]SnapshotRef{}
					refs.Snapshots[string(name)] = m
					b := sb.Bucket(name)
					return b.ForEach(func(k, _ []byte) error {
						var r snapRecord
						if _, err := getJSON(b, k, &r); err != nil {
							return err
						}
						m[string(k)] = SnapshotRef{BackendKey: r.BackendKey, Parent: r.Parent, Labels: r.Labels}
						return nil
					})
				}); err != nil {
					return err
				}
			}
			leases, err := listLeases(tx, ns)
			if err != nil {
				return err
			}
			for _, l := range leases {
				res, err := leaseResources(tx, ns, l.ID)
				if err != nil {
					return err
				}
				refs.Leases = append(refs.Leases, LeaseRefs{Lease: l, Resources: res})
			}
			return nil
		})
	})
	return out, err
}

// Sweep lists the records a collection removes, per namespace.
type Sweep struct {
	Content   map[string][]digest.Digest     // namespace → digests
	Snapshots map[string]map[string][]string // namespace → snapshotter → keys
	Leases    map[string][]string            // namespace → expired lease ids
}

// GCDelete removes the swept records in one transaction. The collector
// calls it with LockGC held.
func (db *DB) GCDelete(ctx context.Context, sw Sweep) error {
	return db.update(func(tx *bolt.Tx) error {
		for ns, dgsts := range sw.Content {
			b := subBucket(tx, ns, bucketContent)
			for _, d := range dgsts {
				if b == nil {
					break
				}
				if err := b.Delete([]byte(d.String())); err != nil {
					return fmt.Errorf("gc: delete blob record %s in %q: %w", d, ns, err)
				}
			}
		}
		for ns, bySn := range sw.Snapshots {
			for name, keys := range bySn {
				b := subBucket(tx, ns, bucketSnapshots, []byte(name))
				for _, k := range keys {
					if b == nil {
						break
					}
					if err := b.Delete([]byte(k)); err != nil {
						return fmt.Errorf("gc: delete snapshot record %q in %q: %w", k, ns, err)
					}
				}
			}
		}
		for ns, ids := range sw.Leases {
			b := subBucket(tx, ns, bucketLeases)
			for _, id := range ids {
				if b == nil || b.Bucket([]byte(id)) == nil {
					continue
				}
				if err := b.DeleteBucket([]byte(id)); err != nil {
					return fmt.Errorf("gc: delete lease %q in %q: %w", id, ns, err)
				}
			}
		}
		return nil
	})
}
