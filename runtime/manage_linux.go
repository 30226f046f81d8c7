package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"sort"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/cgroups"
)

// Info is one row of list, in the JSON shape of runc's list.
type Info struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// List returns every container under the root, sorted by ID.
func (r *Runtime) List() ([]Info, error) {
	ids, err := r.store().list()
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	var out []Info
	for _, id := range ids {
		st, status, err := r.StateOf(id)
		if err != nil {
			continue // a container being created or deleted right now
		}
		pid := st.Pid
		if status == Stopped {
			pid = 0
		}
		out = append(out, Info{
			OCIVersion: specs.Version, ID: id, Pid: pid, Status: status, Bundle: st.Bundle, Rootfs: st.Rootfs,
			Created: st.Created.Format("2006-01-02T15:04:05.999999999Z"), Owner: owner(r.store().dir(id)),
			Annotations: st.Annotations,
		})
	}
	return out, nil
}

func owner(path string) string {
	var s syscall.Stat_t
	if syscall.Stat(path, &s) != nil {
		return ""
	}
	if u, err := user.LookupId(strconv.Itoa(int(s.Uid))); err == nil {
		return u.Username
	}
	return "#" + strconv.Itoa(int(s.Uid))
}

// Pids lists the processes of a container.
func (r *Runtime) Pids(id string) ([]int, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	m, err := r.cgroupOf(st)
	if err != nil {
		return nil, err
	}
	pids, err := m.Pids()
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", id, err)
	}
	sort.Ints(pids)
	return pids, nil
}

// Pause freezes every process of a running container.
func (r *Runtime) Pause(id string) error {
	return r.freeze(id, true)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	return r.freeze(id, false)
}

func (r *Runtime) freeze(id string, on bool) error {
	st, err := r.store().load(id)
	if err != nil {
		return err
	}
	unlock, err := r.store().lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	status := r.status(st)
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	if on {
		// A created container is not paused either: its frozen init could
		// not take the start signal, and start would wait for it forever.
		if status != Running {
			return fmt.Errorf("%w: cannot pause a %s container", ErrWrongState, status)
		}
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("pause %s: %w", id, err)
		}
		return nil
	}
	if status != Paused {
		return fmt.Errorf("%w: cannot resume a %s container", ErrWrongState, status)
	}
	if err := m.Thaw(); err != nil {
		return fmt.Errorf("resume %s: %w", id, err)
	}
	return nil
}

// Update changes the resource limits of a created, running or paused
// container and records them in its saved spec. Invalid values change
// nothing; a memory limit the kernel refuses (below usage) is rolled back.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	st, err := r.store().load(id)
	if err != nil {
		return err
	}
	unlock, err := r.store().lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	if status := r.status(st); status == Stopped {
		return fmt.Errorf("%w: cannot update a stopped container", ErrWrongState)
	}
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	if res != nil && len(res.Devices) > 0 {
		// As runc: device rules are fixed at create. Rewriting them on a
		// v1 host starts with the deny-all rule, which would cut a running
		// container off its devices for a moment.
		warn(r.Warn, "update ignores linux.resources.devices; device rules are set at create")
		cp := *res
		cp.Devices = nil
		res = &cp
	}
	if err := m.Set(res); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	if err := r.recordResources(st, res); err != nil {
		return fmt.Errorf("update %s: limits are set, but recording them failed: %w", id, err)
	}
	return nil
}

// recordResources merges an update into the config kept beside the
// state, so that it shows the container's current limits.
func (r *Runtime) recordResources(st *State, res *specs.LinuxResources) error {
	spec, err := r.store().loadSpec(st)
	if err != nil {
		return err
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	merged, err := mergeResources(spec.Linux.Resources, res)
	if err != nil {
		return err
	}
	spec.Linux.Resources = merged
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return r.store().saveSpec(st.ID, b)
}

// Stats reads a container's cgroup counters.
func (r *Runtime) Stats(id string) (*cgroups.Stats, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	m, err := r.cgroupOf(st)
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
	st, err := r.store().load(id)
	if err != nil {
		return 0, err
	}
	m, err := r.cgroupOf(st)
	if err != nil {
		return 0, err
	}
	return m.OOMKillCount()
}

// mergeResources records an update in the saved spec: every field the
// update sets replaces the old one, objects are merged key by key.
func mergeResources(old, upd *specs.LinuxResources) (*specs.LinuxResources, error) {
	if old == nil || upd == nil {
		if upd == nil {
			return old, nil
		}
		return upd, nil
	}
	var a, b map[string]any
	if err := roundTrip(old, &a); err != nil {
		return nil, err
	}
	if err := roundTrip(upd, &b); err != nil {
		return nil, err
	}
	var out specs.LinuxResources
	if err := roundTrip(mergeMaps(a, b), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// mergeMaps overlays b on a: nested objects merge, anything else in b
// replaces a's value.
func mergeMaps(a, b map[string]any) map[string]any {
	if a == nil {
		a = map[string]any{}
	}
	for k, bv := range b {
		if bm, ok := bv.(map[string]any); ok {
			if am, ok := a[k].(map[string]any); ok {
				a[k] = mergeMaps(am, bm)
				continue
			}
		}
		a[k] = bv
	}
	return a
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
	st, err := r.store().load(id)
	if err != nil {
		return err
	}
	if r.status(st) == Stopped {
		return fmt.Errorf("%w: container %s is not running", ErrWrongState, id)
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
	st, err := r.store().load(id)
	if err != nil {
		return err
	}
	if r.status(st) == Stopped {
		return fmt.Errorf("%w: container %s is not running", ErrWrongState, id)
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

// warn writes a warning line when the runtime has a warning sink.
func warn(w io.Writer, msg string) {
	if w != nil {
		fmt.Fprintln(w, "warning:", msg)
	}
}
