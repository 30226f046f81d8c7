package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/snapshot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// GCResult counts what a collection removed.
type GCResult struct {
	Blobs     int
	Snapshots int
	Ingests   int
}

// StaleIngest is how long an interrupted download is kept for a resume
// before GC discards it.
const StaleIngest = 24 * time.Hour

// GC recomputes every namespace's references from its images, then removes
// blobs and committed snapshots that no namespace references. Callers must
// keep pulls from running meanwhile (a pull's blobs are referenced only
// once it completes). sn may be nil.
func GC(ctx context.Context, db *DB, cs content.Store, sn snapshot.Snapshotter) (GCResult, error) {
	var res GCResult
	nss, err := db.Namespaces()
	if err != nil {
		return res, err
	}
	liveBlobs, liveSnaps := map[string]bool{}, map[string]bool{}
	for _, ns := range nss {
		imgs, err := db.List(ctx, ns)
		if err != nil {
			return res, err
		}
		blobs, snaps := map[string]bool{}, map[string]bool{}
		for _, img := range imgs {
			if err := reach(ctx, cs, img.Target, blobs, snaps); err != nil {
				return res, fmt.Errorf("gc: image %s: %w", img.Name, err)
			}
		}
		if err := db.SetRefs(ns, blobs, snaps); err != nil {
			return res, fmt.Errorf("gc: namespace %s: %w", ns, err)
		}
		for k := range blobs {
			liveBlobs[k] = true
		}
		for k := range snaps {
			liveSnaps[k] = true
		}
	}
	var dead []digest.Digest
	if err := cs.Walk(ctx, func(i content.Info) error {
		if !liveBlobs[i.Digest.String()] {
			dead = append(dead, i.Digest)
		}
		return nil
	}); err != nil {
		return res, fmt.Errorf("gc: walk content: %w", err)
	}
	for _, d := range dead {
		if err := cs.Delete(ctx, d); err != nil && !errors.Is(err, content.ErrNotFound) {
			return res, fmt.Errorf("gc: delete blob %s: %w", d, err)
		}
		res.Blobs++
	}
	statuses, err := cs.ListStatuses(ctx)
	if err != nil {
		return res, fmt.Errorf("gc: list ingests: %w", err)
	}
	for _, st := range statuses {
		if time.Since(st.UpdatedAt) > StaleIngest {
			if err := cs.Abort(ctx, st.Ref); err != nil && !errors.Is(err, content.ErrNotFound) {
				return res, fmt.Errorf("gc: abort stale ingest %s: %w", st.Ref, err)
			}
			res.Ingests++
		}
	}
	if sn == nil {
		return res, nil
	}
	n, err := gcSnapshots(ctx, sn, liveSnaps)
	res.Snapshots = n
	return res, err
}

// reach marks the blobs under desc and the chain IDs of every config found.
func reach(ctx context.Context, cs content.Store, desc ocispec.Descriptor, blobs, snaps map[string]bool) error {
	return Walk(ctx, cs, desc, func(d ocispec.Descriptor) error {
		blobs[d.Digest.String()] = true
		if !distribution.IsManifest(d.MediaType) {
			return nil
		}
		b, err := ReadBlob(ctx, cs, d)
		if err != nil {
			return nil // not present locally (another platform)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		cb, err := ReadBlob(ctx, cs, m.Config)
		if err != nil {
			return nil
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(cb, &cfg); err != nil {
			return fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		for _, c := range ChainIDs(cfg.RootFS.DiffIDs) {
			snaps[c.String()] = true
		}
		return nil
	})
}

// gcSnapshots removes unreferenced committed snapshots, leaves first;
// snapshots with live children (including containers' active ones) stay.
func gcSnapshots(ctx context.Context, sn snapshot.Snapshotter, live map[string]bool) (int, error) {
	removed := 0
	for {
		var infos []snapshot.Info
		if err := sn.Walk(ctx, func(i snapshot.Info) error { infos = append(infos, i); return nil }); err != nil {
			return removed, fmt.Errorf("gc: walk snapshots: %w", err)
		}
		hasChild := map[string]bool{}
		for _, i := range infos {
			if i.Parent != "" {
				hasChild[i.Parent] = true
			}
		}
		progress := false
		for _, i := range infos {
			if i.Kind != snapshot.KindCommitted || live[i.Name] || hasChild[i.Name] {
				continue
			}
			if err := sn.Remove(ctx, i.Name); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
				return removed, fmt.Errorf("gc: remove snapshot %s: %w", i.Name, err)
			}
			removed++
			progress = true
		}
		if !progress {
			return removed, nil
		}
	}
}
