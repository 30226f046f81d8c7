// Package idlemem returns a daemon's free heap to the system once a
// burst of work is over.
//
// Go's scavenger gives back free heap pages slowly, keeping a margin
// above the heap goal; after a burst (a hundred pods started at once) a
// daemon would hold the burst's garbage and span fragments for minutes.
// Watch notices the end of a burst from the allocation rate and then
// collects and releases once, so an idle daemon holds about its live
// heap. A daemon that stays busy, or idle, pays nothing.
package idlemem

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const allocsMetric = "/gc/heap/allocs:bytes"

// Policy says when a burst is over: a tick in which less than Quiet
// bytes were allocated, after at least Burst bytes since the last
// release.
type Policy struct {
	Tick  time.Duration
	Quiet uint64
	Burst uint64
}

// Default is the daemon's policy: a second with less than 256 KiB
// allocated ends a burst of at least 16 MiB.
var Default = Policy{Tick: time.Second, Quiet: 256 << 10, Burst: 16 << 20}

// Watch runs until ctx ends, calling release (debug.FreeOSMemory when
// nil) once at the end of each burst.
func Watch(ctx context.Context, p Policy, release func()) {
	if release == nil {
		release = debug.FreeOSMemory
	}
	t := time.NewTicker(p.Tick)
	defer t.Stop()
	var w watcher
	w.p = p
	w.last = allocs()
	w.released = w.last
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if w.tick(allocs()) {
				release()
				w.released = allocs() // the collection's own allocations are no burst
				w.last = w.released
			}
		}
	}
}

// watcher is Watch's state, apart from time.
type watcher struct {
	p        Policy
	last     uint64 // allocated bytes at the last tick
	released uint64 // allocated bytes at the last release
}

// tick takes the allocated bytes now and says whether to release.
func (w *watcher) tick(now uint64) bool {
	quiet := now-w.last < w.p.Quiet
	w.last = now
	return quiet && now-w.released >= w.p.Burst
}

func allocs() uint64 {
	s := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
