package engine

import (
	"context"
	"time"
)

// DefaultGCDelay is how long the engine waits after a deletion before it
// collects, so that a burst of deletions costs one collection.
const DefaultGCDelay = time.Second

// gcScheduler runs a collection GCDelay after the first deletion that
// left garbage behind; deletions during the wait join that collection.
type gcScheduler struct {
	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// startGCScheduler starts the background collector unless delay is
// negative (collections then run only on demand).
func (e *Engine) startGCScheduler(delay time.Duration) {
	if delay < 0 {
		return
	}
	if delay == 0 {
		delay = DefaultGCDelay
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &gcScheduler{kick: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	e.sched = s
	go func() {
		defer close(s.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.kick:
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if _, err := e.GC(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("scheduled garbage collection", "err", err)
			}
		}
	}()
}

// scheduleGC asks for a collection soon; it never blocks.
func (e *Engine) scheduleGC() {
	if e.sched == nil {
		return
	}
	select {
	case e.sched.kick <- struct{}{}:
	default: // one is already due
	}
}

// stopGCScheduler stops the background collector and waits for it.
func (e *Engine) stopGCScheduler() {
	if e.sched == nil {
		return
	}
	e.sched.stop()
	<-e.sched.done
}
