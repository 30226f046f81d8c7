package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// leaseUsers counts the transfers of this process using each lease.
type leaseUsers struct {
	mu sync.Mutex
	n  map[string]int
}

// WithLease runs fn under the lease named after what it transfers (key,
// e.g. "pull <reference>"), so that the collector keeps what fn writes
// until the image record exists. Transfers of the same key share the
// lease; the last one to succeed drops it. An interrupted transfer
// (cancelled ctx, or the process killed) leaves it, protecting the
// partial download until the retry, which reuses and then drops it, or
// until it expires after a day.
func (e *Engine) WithLease(ctx context.Context, ns, key string, fn func(context.Context) error) error {
	id := leaseID(key)
	leases := e.meta.Leases(ns)
	full := ns + "/" + id
	e.leases.mu.Lock()
	if e.leases.n[full] == 0 {
		_, err := leases.Create(ctx, id, time.Now().Add(24*time.Hour), map[string]string{"berth.io/transfer": key})
		if err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
			e.leases.mu.Unlock()
			return fmt.Errorf("create lease: %w", err)
		}
	}
	e.leases.n[full]++
	e.leases.mu.Unlock()

	err := fn(metadata.WithLease(ctx, id))

	e.leases.mu.Lock()
	defer e.leases.mu.Unlock()
	e.leases.n[full]--
	if e.leases.n[full] > 0 {
		return err
	}
	delete(e.leases.n, full)
	if err != nil && ctx.Err() != nil {
		return err // interrupted: keep the lease for a resume
	}
	if derr := leases.Delete(context.WithoutCancel(ctx), id); derr != nil && !errors.Is(derr, errdefs.ErrNotFound) {
		e.log.Warn("drop lease", "lease", id, "err", derr)
	}
	return err
}

// leaseID is the ID of the lease WithLease takes for key.
func leaseID(key string) string { return "transfer-" + digest.FromString(key).Encoded()[:24] }
