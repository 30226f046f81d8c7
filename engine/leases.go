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
	m  map[string]*leaseUse
}

// leaseUse is one lease's transfers. Its mutex orders their creation
// and deletion of the lease; other leases' transfers never wait for it.
type leaseUse struct {
	mu    sync.Mutex
	n     int // transfers running under the lease
	users int // holders of this entry (under leaseUsers.mu)
}

// use returns lease full's entry, made on first use; done releases it.
func (l *leaseUsers) use(full string) (u *leaseUse, done func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*leaseUse{}
	}
	u = l.m[full]
	if u == nil {
		u = &leaseUse{}
		l.m[full] = u
	}
	u.users++
	return u, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if u.users--; u.users == 0 {
			delete(l.m, full)
		}
	}
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
	u, done := e.leases.use(ns + "/" + id)
	defer done()
	u.mu.Lock()
	if u.n == 0 {
		_, err := leases.Create(ctx, id, time.Now().Add(24*time.Hour), map[string]string{"berth.io/transfer": key})
		if err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
			u.mu.Unlock()
			return fmt.Errorf("create lease: %w", err)
		}
	}
	u.n++
	u.mu.Unlock()

	err := fn(metadata.WithLease(ctx, id))

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n--; u.n > 0 {
		return err
	}
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
