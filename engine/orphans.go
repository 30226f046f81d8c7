package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/snapshot"
)

// removeOrphans removes what a create or a removal cut short by the
// engine's end left without a record in ns: bundles (their roots
// and image views unmounted), log directories, container snapshots
// (image views too) and the lease an earlier version's create took.
// known holds the IDs of ns's records.
func (e *Engine) removeOrphans(ctx context.Context, ns string, known map[string]bool) {
	orphans := map[string]bool{}
	for _, dir := range []string{filepath.Join(e.cfg.State, "containers", ns), filepath.Join(e.cfg.Root, "containers", ns)} {
		ents, _ := os.ReadDir(dir)
		for _, ent := range ents {
			if validContainerID(ent.Name()) && !known[ent.Name()] {
				orphans[ent.Name()] = true
			}
		}
	}
	views := map[string][]string{} // orphan ID → its image views
	sn, snErr := e.Snapshotter(ns)
	if snErr == nil {
		_ = sn.Walk(ctx, func(i snapshot.Info) error {
			rest, ok := strings.CutPrefix(i.Name, "container-")
			id, view, isView := strings.Cut(rest, "-image-")
			if ok && validContainerID(id) && !known[id] {
				orphans[id] = true
				if isView && view != "" {
					views[id] = append(views[id], i.Name)
				}
			}
			return nil
		})
	}
	for id := range orphans {
		e.log.Info("remove an unfinished container", "namespace", ns, "id", id)
		e.removeParts(ctx, ns, Container{ID: id, SnapshotKey: "container-" + id}, false)
		for _, key := range views[id] {
			e.removeSnapshotKey(ctx, sn, id, key)
		}
		if err := e.meta.Leases(ns).Delete(ctx, leaseID("container "+id)); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			e.log.Warn("remove an unfinished container's lease", "id", id, "err", err)
		}
	}
}

// removeOrphanShims clears shim state directories no record names
// (known holds every record's), and releases volumes held by containers
// that have no record.
func (e *Engine) removeOrphanShims(ctx context.Context, known map[string]bool) {
	shimDirs := map[string]bool{}
	for id := range known {
		shimDirs[e.shimDir(id)] = true
	}
	ents, _ := os.ReadDir(filepath.Join(e.cfg.State, "s"))
	for _, ent := range ents {
		if dir := filepath.Join(e.cfg.State, "s", ent.Name()); !shimDirs[dir] {
			e.clearShim(ctx, Container{ID: ent.Name(), StateDir: dir})
			_ = os.RemoveAll(dir) // one that never came up
		}
	}
	e.removeOrphanPodShims(known)
	vols, err := e.vols.List(ctx)
	if err != nil {
		return
	}
	for _, v := range vols {
		for _, id := range v.Users {
			if !known[id] {
				e.detachVolumes(ctx, id, []string{v.Name}, nil)
			}
		}
	}
}

// validContainerID says whether s has the shape of a container ID.
func validContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
