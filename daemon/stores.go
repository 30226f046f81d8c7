package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/images"
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

// metaImages adapts the metadata database's image store to images.Store.
type metaImages struct{ db *metadata.DB }

func fromMeta(m metadata.Image) images.Image {
	return images.Image{Name: m.Name, Target: m.Target, Labels: m.Labels, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func notFound(err error, name string) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return fmt.Errorf("%w: %s", images.ErrNotFound, name)
	}
	return err
}

// Get implements images.Store.
func (m metaImages) Get(ctx context.Context, ns, name string) (images.Image, error) {
	img, err := m.db.Images(ns).Get(ctx, name)
	if err != nil {
		return images.Image{}, notFound(err, name)
	}
	return fromMeta(img), nil
}

// List implements images.Store.
func (m metaImages) List(ctx context.Context, ns string) ([]images.Image, error) {
	list, err := m.db.Images(ns).List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]images.Image, 0, len(list))
	for _, img := range list {
		out = append(out, fromMeta(img))
	}
	return out, nil
}

// Put implements images.Store: create, or replace the target and labels.
func (m metaImages) Put(ctx context.Context, ns string, img images.Image) (images.Image, error) {
	rec := metadata.Image{Name: img.Name, Target: img.Target, Labels: img.Labels}
	out, err := m.db.Images(ns).Create(ctx, rec)
	if errors.Is(err, metadata.ErrAlreadyExists) {
		out, err = m.db.Images(ns).Update(ctx, rec)
	}
	if err != nil {
		return images.Image{}, fmt.Errorf("record image %s: %w", img.Name, err)
	}
	return fromMeta(out), nil
}

// Delete implements images.Store.
func (m metaImages) Delete(ctx context.Context, ns, name string) error {
	return notFound(m.db.Images(ns).Delete(ctx, name), name)
}
