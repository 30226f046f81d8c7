package runtime

import (
	"encoding/json"
	"fmt"
	"os/user"
	"sort"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/cgroups"
)

// Info is one row of list.
type Info struct {
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
			ID: id, Pid: pid, Status: status, Bundle: st.Bundle, Rootfs: st.Rootfs,
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
	st, status, err := r.StateOf(id)
	if err != nil {
		return err
	}
	unlock, err := r.store().lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	if on {
		if status != Running && status != Created {
			return fmt.Errorf("%w: cannot pause a %s container", ErrWrongState, status)
		}
		return m.Freeze()
	}
	if status != Paused {
		return fmt.Errorf("%w: cannot resume a %s container", ErrWrongState, status)
	}
	return m.Thaw()
}

// Update changes the resources of a container's cgroup. Invalid values
// change nothing.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	st, status, err := r.StateOf(id)
	if err != nil {
		return err
	}
	if status == Stopped {
		return fmt.Errorf("%w: cannot update a stopped container", ErrWrongState)
	}
	unlock, err := r.store().lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	if err := m.Set(res); err != nil {
		return fmt.Errorf("update %s: %w", id, err)
	}
	spec, err := r.store().loadSpec(st)
	if err != nil {
		return err
	}
	spec.Linux.Resources = mergeResources(spec.Linux.Resources, res)
	raw, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return r.store().saveSpec(id, raw)
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
	return m.Stats()
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

// mergeResources records an update in the saved spec.
func mergeResources(old, upd *specs.LinuxResources) *specs.LinuxResources {
	if old == nil {
		return upd
	}
	if upd == nil {
		return old
	}
	n := *old
	if upd.Memory != nil {
		n.Memory = upd.Memory
	}
	if upd.CPU != nil {
		n.CPU = upd.CPU
	}
	if upd.Pids != nil {
		n.Pids = upd.Pids
	}
	if upd.BlockIO != nil {
		n.BlockIO = upd.BlockIO
	}
	if upd.Unified != nil {
		n.Unified = upd.Unified
	}
	return &n
}
