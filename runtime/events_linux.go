package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/cgroups"
)

// Stats reads a container's cgroup counters.
func (r *Runtime) Stats(id string) (*cgroups.Stats, error) {
	m, err := r.cgroupByID(id)
	if err != nil {
		return nil, err
	}
	s, err := m.Stats()
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", id, err)
	}
	return s, nil
}

// OOMKills returns how many processes of the container the OOM killer
// killed.
func (r *Runtime) OOMKills(id string) (uint64, error) {
	m, err := r.cgroupByID(id)
	if err != nil {
		return 0, err
	}
	return m.OOMKillCount()
}

// Event is one line of `events`, in the JSON shape runc prints and
// containerd reads: Type is "stats" (Data is *cgroups.Stats) or "oom".
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// oomPoll is how often Events checks the OOM kill counter between stats.
const oomPoll = 100 * time.Millisecond

// StatsEvent emits one stats event of a container that has not stopped.
func (r *Runtime) StatsEvent(id string, emit func(Event) error) error {
	if _, _, err := r.checkedState(id, notStopped); err != nil {
		return err
	}
	s, err := r.Stats(id)
	if err != nil {
		return err
	}
	return emit(Event{Type: "stats", ID: id, Data: s})
}

// Events emits a stats event every interval and an oom event for each
// OOM kill in the container's cgroup (and, with the OOM killer disabled,
// each time the cgroup runs out of memory), until the container stops or
// ctx ends. Kills that happened before Events was called are reported at
// once, so a caller that attaches late still learns of them.
func (r *Runtime) Events(ctx context.Context, id string, interval time.Duration, emit func(Event) error) error {
	if interval <= 0 {
		return fmt.Errorf("%w: events interval %v must be positive", ErrInvalidConfig, interval)
	}
	st, _, err := r.checkedState(id, notStopped)
	if err != nil {
		return err
	}
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	var reported uint64
	wasUnder := false
	checkOOM := func() error {
		// Errors mean no memory controller, or the cgroup just went away.
		if n, err := m.OOMKillCount(); err == nil {
			for ; reported < n; reported++ {
				if err := emit(Event{Type: "oom", ID: id}); err != nil {
					return err
				}
			}
		}
		// With the OOM killer disabled nothing is killed: report each
		// time the cgroup runs out of memory instead.
		under, err := m.UnderOOM()
		if err == nil && under && !wasUnder {
			if err := emit(Event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		wasUnder = under && err == nil
		return nil
	}
	poll := min(oomPoll, interval)
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	nextStats := time.Now()
	for {
		if err := checkOOM(); err != nil {
			return err
		}
		if !st.alive() {
			return nil
		}
		if now := time.Now(); !now.Before(nextStats) {
			nextStats = now.Add(interval)
			s, err := m.Stats()
			if err != nil {
				if !st.alive() || !m.Exists() {
					return nil
				}
				return fmt.Errorf("stats of %s: %w", id, err)
			}
			if err := emit(Event{Type: "stats", ID: id, Data: s}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
