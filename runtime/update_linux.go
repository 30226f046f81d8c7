package runtime

import (
	"encoding/json"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update changes the resource limits of a created, running or paused
// container and records them in its saved spec. Invalid values change
// nothing; a memory limit the kernel refuses (below usage) is rolled back.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	st, _, unlock, err := r.lockedState(id, onlyIn("update", Creating, Created, Running, Paused))
	if err != nil {
		return err
	}
	defer unlock()
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

// warn writes a warning line when the runtime has a warning sink.
func warn(w io.Writer, msg string) {
	if w != nil {
		fmt.Fprintln(w, "warning:", msg)
	}
}
