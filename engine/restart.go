package engine

import (
	"context"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/metadata"
)

// Restart back-off: the delay doubles from restartDelay up to
// maxRestartDelay, and starts over after a run of restartReset.
const (
	restartDelay    = 100 * time.Millisecond
	maxRestartDelay = time.Minute
	restartReset    = 10 * time.Second
)

// restarts says whether policy p restarts a container that ended with s.
func restarts(p container.RestartPolicy, s metadata.ContainerStatus) bool {
	if s.ManuallyStopped {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return s.ExitCode != 0 && (p.MaxRetries == 0 || s.RestartCount < p.MaxRetries)
	}
	return false
}

// restartDelayFor is the back-off before restart number n+1 of a
// container that ran for ran.
func restartDelayFor(n int, ran time.Duration) time.Duration {
	if ran >= restartReset {
		return restartDelay
	}
	d := restartDelay << min(n, 10)
	return min(d, maxRestartDelay)
}

// scheduleRestart restarts c after its back-off, unless by then it was
// stopped, started, removed, or the engine closed.
func (e *Engine) scheduleRestart(ns string, c Container) {
	delay := restartDelayFor(c.Status.RestartCount, c.Status.FinishedAt.Sub(c.Status.StartedAt))
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-e.ctx.Done():
			return
		case <-timer.C:
		}
		unlock := e.lockContainer(ns, c.ID)
		defer unlock()
		cur, err := e.meta.Containers().Get(e.ctx, ns, c.ID)
		if err != nil || cur.Status.State != StateExited || cur.Status.ManuallyStopped != c.Status.ManuallyStopped || e.task(ns, c.ID) != nil {
			return // started, stopped or removed meanwhile
		}
		cur.Status.RestartCount++
		t, err := e.launch(e.ctx, ns, cur, true, nil)
		if err == nil {
			err = e.started(e.ctx, ns, cur, t)
		}
		if err != nil {
			e.log.Warn("restart container", "id", c.ID, "err", e.failedStart(e.ctx, ns, cur, t, err))
		}
	}()
}

// markStopped records that a user stopped the container, so that no
// restart policy brings it back.
func (e *Engine) markStopped(ctx context.Context, ns, id string) {
	unlock := e.lockContainer(ns, id)
	defer unlock()
	if c, err := e.meta.Containers().Get(ctx, ns, id); err == nil && !c.Status.ManuallyStopped {
		c.Status.ManuallyStopped = true
		_, _ = e.meta.Containers().Update(ctx, ns, c)
	}
}
