package engine

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/gc"
)

// GC collects what no image, lease or root label references, in every
// namespace; collections never overlap.
func (e *Engine) GC(ctx context.Context) (gc.Stats, error) {
	e.gcLock.Lock()
	defer e.gcLock.Unlock()
	r, err := gc.Collect(ctx, e.meta)
	if err != nil {
		return r, fmt.Errorf("garbage collection: %w", err)
	}
	e.log.Info("garbage collected", "blobs", r.BlobsDeleted, "snapshots", r.SnapshotsRemoved, "duration", r.Duration)
	e.events.Publish("", events.TopicGC, "", map[string]string{"blobs": fmt.Sprint(r.BlobsDeleted), "snapshots": fmt.Sprint(r.SnapshotsRemoved)})
	return r, nil
}
