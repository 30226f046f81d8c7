package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"github.com/opencontainers/go-digest"
)

// cs is namespace ns's view of the content store.
func (d *Daemon) cs(ns string) content.Store { return d.meta.NamespacedContent(ns) }

// snap is namespace ns's view of the snapshotter.
func (d *Daemon) snap(ns string) (snapshot.Snapshotter, error) {
	sn, err := d.meta.NamespacedSnapshotter(ns, d.cfg.Snapshotter)
	if err != nil {
		return nil, fmt.Errorf("snapshotter %s in namespace %s: %w", d.cfg.Snapshotter, ns, err)
	}
	return sn, nil
}

// leaseUsers counts the transfers of this process using each lease.
type leaseUsers struct {
	mu sync.Mutex
	n  map[string]int
}

// withLease runs a transfer under the lease named after what it transfers
// (key, e.g. the reference), so that the collector keeps what it writes
// until the image record exists. Transfers of the same key share the
// lease; the last one to succeed drops it. An interrupted transfer (client
// gone, daemon stopped or killed) leaves it, protecting the partial
// download until the retry, which reuses and then drops it, or until it
// expires after a day.
func (d *Daemon) withLease(ctx context.Context, ns, key string, fn func(context.Context) error) error {
	id := "transfer-" + digest.FromString(key).Encoded()[:24]
	leases := d.meta.Leases(ns)
	full := ns + "/" + id
	d.leases.mu.Lock()
	if d.leases.n[full] == 0 {
		_, err := leases.Create(ctx, id, time.Now().Add(24*time.Hour), map[string]string{"berth.io/transfer": key})
		if err != nil && !errors.Is(err, metadata.ErrAlreadyExists) {
			d.leases.mu.Unlock()
			return fmt.Errorf("create lease: %w", err)
		}
	}
	d.leases.n[full]++
	d.leases.mu.Unlock()

	err := fn(metadata.WithLease(ctx, id))

	d.leases.mu.Lock()
	defer d.leases.mu.Unlock()
	d.leases.n[full]--
	if d.leases.n[full] > 0 {
		return err
	}
	delete(d.leases.n, full)
	if err != nil && ctx.Err() != nil {
		return err // interrupted: keep the lease for a resume
	}
	if derr := leases.Delete(context.WithoutCancel(ctx), id); derr != nil && !errors.Is(derr, metadata.ErrNotFound) {
		d.log.Warn("drop lease", "lease", id, "err", derr)
	}
	return err
}
