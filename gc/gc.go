// Package gc is Berth's mark-and-sweep garbage collector over the
// metadata database: everything reachable from images, containers (their
// image manifest and snapshot), unexpired leases,
// roots labelled berth.io/gc.root and active snapshots is kept; other
// records are dropped and the blobs and snapshots no namespace references
// any more are deleted from the backing stores.
package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/errdefs"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
)

// Labels the collector follows.
const (
	// LabelRoot on a blob or snapshot makes it a root.
	LabelRoot = "berth.io/gc.root"
	// LabelRefContent (alone or followed by ".<anything>") on a blob or
	// snapshot references a blob by digest.
	LabelRefContent = "berth.io/gc.ref.content"
	// LabelRefSnapshot followed by ".<snapshotter>" (and optionally
	// "/<anything>") references a snapshot by key, e.g.
	// berth.io/gc.ref.snapshot.overlay=<chain id> on an image config.
	LabelRefSnapshot = "berth.io/gc.ref.snapshot."
)

// Stats says what a collection removed.
type Stats struct {
	ContentRecords   int // blob references dropped from namespaces
	SnapshotRecords  int // snapshot records dropped from namespaces
	ExpiredLeases    int
	BlobsDeleted     int // blobs deleted from the content store
	SnapshotsRemoved int // snapshots removed from the snapshotters
	Duration         time.Duration
}

// Collect runs one collection. It holds the database's GC lock for its
// whole duration, so concurrent commits wait for it (and it for them).
func Collect(ctx context.Context, db *metadata.DB) (Stats, error) {
	start := time.Now()
	db.LockGC()
	defer db.UnlockGC()
	var st Stats

	state, err := db.GCState(ctx)
	if err != nil {
		return st, fmt.Errorf("gc: read metadata: %w", err)
	}
	sweep := metadata.Sweep{
		Content:   map[string][]digest.Digest{},
		Snapshots: map[string]map[string][]string{},
		Leases:    map[string][]string{},
	}
	keepBlobs := map[digest.Digest]bool{}
	keepSnaps := map[string]map[string]bool{} // snapshotter → backend key
	for ns, refs := range state {
		m := newMarker(ctx, db, ns, refs)
		if err := m.run(); err != nil {
			return st, fmt.Errorf("gc: mark namespace %q: %w", ns, err)
		}
		for d := range refs.Content {
			if m.content[d] {
				keepBlobs[d] = true
			} else {
				sweep.Content[ns] = append(sweep.Content[ns], d)
				st.ContentRecords++
			}
		}
		for name, recs := range refs.Snapshots {
			if keepSnaps[name] == nil {
				keepSnaps[name] = map[string]bool{}
			}
			for key, r := range recs {
				if m.snaps[name][key] {
					keepSnaps[name][r.BackendKey] = true
					continue
				}
				if sweep.Snapshots[ns] == nil {
					sweep.Snapshots[ns] = map[string][]string{}
				}
				sweep.Snapshots[ns][name] = append(sweep.Snapshots[ns][name], key)
				st.SnapshotRecords++
			}
		}
		for _, l := range m.expired {
			sweep.Leases[ns] = append(sweep.Leases[ns], l)
			st.ExpiredLeases++
		}
	}
	if err := db.GCDelete(ctx, sweep); err != nil {
		return st, err
	}
	n, err := sweepContent(ctx, db, keepBlobs)
	st.BlobsDeleted = n
	if err != nil {
		return st, err
	}
	for _, name := range db.SnapshotterNames() {
		sn, _ := db.Snapshotter(name)
		n, err := sweepSnapshots(ctx, sn, keepSnaps[name])
		st.SnapshotsRemoved += n
		if err != nil {
			return st, fmt.Errorf("gc: snapshotter %q: %w", name, err)
		}
	}
	st.Duration = time.Since(start)
	return st, nil
}

// sweepContent deletes every blob no namespace keeps.
func sweepContent(ctx context.Context, db *metadata.DB, keep map[digest.Digest]bool) (int, error) {
	var doomed []digest.Digest
	if err := db.ContentStore().Walk(ctx, func(i contentInfo) error {
		if !keep[i.Digest] {
			doomed = append(doomed, i.Digest)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("gc: walk content: %w", err)
	}
	n := 0
	for _, d := range doomed {
		if err := db.ContentStore().Delete(ctx, d); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return n, fmt.Errorf("gc: delete blob %s: %w", d, err)
		}
		n++
	}
	return n, nil
}

// sweepSnapshots removes every backend snapshot no namespace keeps,
// children before parents.
func sweepSnapshots(ctx context.Context, sn snapshot.Snapshotter, keep map[string]bool) (int, error) {
	parent := map[string]string{}
	if err := sn.Walk(ctx, func(i snapshot.Info) error {
		parent[i.Name] = i.Parent
		return nil
	}); err != nil {
		return 0, fmt.Errorf("walk snapshots: %w", err)
	}
	depth := func(k string) int {
		d := 0
		for p := parent[k]; p != "" && d < len(parent); p = parent[p] {
			d++
		}
		return d
	}
	var doomed []string
	for k := range parent {
		if !keep[k] {
			doomed = append(doomed, k)
		}
	}
	// Deepest first, so children go before their parents.
	sortByDepth(doomed, depth)
	n := 0
	for _, k := range doomed {
		if err := sn.Remove(ctx, k); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				continue
			}
			if errors.Is(err, snapshot.ErrInvalid) {
				continue // still has a kept child: keep it too
			}
			return n, fmt.Errorf("remove snapshot %q: %w", k, err)
		}
		n++
	}
	return n, nil
}
