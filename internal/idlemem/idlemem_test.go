package idlemem

import (
	"context"
	"testing"
	"time"
)

func TestReleasesOnceWhenABurstEnds(t *testing.T) {
	w := watcher{p: Policy{Quiet: 100, Burst: 1000}}
	steps := []struct {
		allocs uint64
		want   bool
	}{
		{50, false},   // quiet, but no burst yet
		{900, false},  // busy
		{2000, false}, // busy, a burst now
		{2050, true},  // quiet after the burst: release
	}
	for i, s := range steps {
		got := w.tick(s.allocs)
		if got {
			w.released = s.allocs
		}
		if got != s.want {
			t.Fatalf("step %d (%d bytes): release %v, want %v", i, s.allocs, got, s.want)
		}
	}
	// Idle after a release: nothing more until the next burst.
	for _, a := range []uint64{2060, 2070, 2080} {
		if w.tick(a) {
			t.Fatalf("released again at %d bytes with no burst since", a)
		}
	}
	if w.tick(5000) || !w.tick(5010) {
		t.Fatal("the second burst's end was not released")
	}
}

// sink keeps the test's allocations from being optimised away.
var sink []byte

func TestWatchCallsReleaseAfterAllocating(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	released := make(chan struct{}, 1)
	go Watch(ctx, Policy{Tick: 20 * time.Millisecond, Quiet: 1 << 20, Burst: 4 << 20}, func() {
		select {
		case released <- struct{}{}:
		default:
		}
	})
	// Busy for a while (Watch has started by then), then quiet.
	for range 40 {
		sink = make([]byte, 1<<20)
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-released:
	case <-time.After(30 * time.Second):
		t.Fatal("8 MiB allocated, then quiet: no release")
	}
}
