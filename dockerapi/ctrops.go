package dockerapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/metadata"
	dcontainer "github.com/moby/moby/api/types/container"
)

// The container operations beyond the lifecycle: pause, unpause,
// rename, update and prune; stats and top are in stats.go.

func (s *Server) pauseContainer(w http.ResponseWriter, r *http.Request) {
	s.setPaused(w, r, true)
}

func (s *Server) unpauseContainer(w http.ResponseWriter, r *http.Request) {
	s.setPaused(w, r, false)
}

// setPaused freezes or thaws a container, refusing as Docker does one
// already in that state or not running.
func (s *Server) setPaused(w http.ResponseWriter, r *http.Request, pause bool) {
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	switch st := c.Status.State; {
	case st != engine.StateRunning && st != engine.StatePaused:
		err = notRunning(c.ID)
	case pause && st == engine.StatePaused:
		err = errdefs.New(errdefs.ErrConflict, "Container "+c.ID+" is already paused")
	case !pause && st != engine.StatePaused:
		err = errdefs.New(errdefs.ErrConflict, "Container "+c.ID+" is not paused")
	case pause:
		err = s.e.PauseContainer(r.Context(), Namespace, c.ID)
	default:
		err = s.e.UnpauseContainer(r.Context(), Namespace, c.ID)
	}
	if errors.Is(err, engine.ErrNotRunning) {
		err = notRunning(c.ID)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// renameContainer answers POST /containers/{id}/rename?name=, with
// Docker's messages for an empty, invalid, unchanged or taken name.
func (s *Server) renameContainer(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if err := s.rename(r, r.PathValue("id"), name); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rename(r *http.Request, ref, name string) error {
	if name == "" || name == "/" {
		return invalid("Neither old nor new names may be empty")
	}
	c, err := s.e.Container(r.Context(), Namespace, ref)
	if err != nil {
		return err
	}
	name = strings.TrimPrefix(name, "/")
	if err := metadata.ValidateContainerName(name); err != nil {
		return invalid("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if name == c.Name {
		return invalid("Renaming a container with the same name as its current name")
	}
	err = s.e.Rename(r.Context(), Namespace, c.ID, name)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		holder := "another container"
		if o, lerr := s.e.Container(r.Context(), Namespace, name); lerr == nil {
			holder = fmt.Sprintf("%q", o.ID)
		}
		return errdefs.New(errdefs.ErrConflict, fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container %s. You have to remove (or rename) that container to be able to reuse that name.", name, holder))
	}
	return err
}

// updateContainer answers POST /containers/{id}/update: the limits and
// restart policy the engine can change; any other field set is refused.
func (s *Server) updateContainer(w http.ResponseWriter, r *http.Request) {
	var req dcontainer.UpdateConfig
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	u, err := resourceUpdate(req)
	if err == nil && u.Restart != nil && u.Restart.Name != "" {
		if cfg, cerr := engine.ContainerConfig(c); cerr == nil && cfg.AutoRemove {
			err = invalid("Restart policy cannot be updated because AutoRemove is enabled for the container")
		}
	}
	if err == nil {
		err = s.e.UpdateContainer(r.Context(), Namespace, c.ID, u)
	}
	if err != nil {
		writeError(w, fmt.Errorf("cannot update container %s: %w", c.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, dcontainer.UpdateResponse{Warnings: []string{}})
}

// defaultCPUPeriod is the CFS period a CpuQuota without CpuPeriod is in.
const defaultCPUPeriod = 100000

// resourceUpdate reads what an update asks for; as Docker's, a zero
// field is left as it is.
func resourceUpdate(req dcontainer.UpdateConfig) (engine.ResourceUpdate, error) {
	var u engine.ResourceUpdate
	res := req.Resources
	if err := unservedResources(res); err != nil {
		return u, err
	}
	if res.Memory < 0 || res.NanoCPUs < 0 || res.CPUShares < 0 || res.CPUQuota < 0 || res.CPUPeriod < 0 {
		return u, invalid("Memory, NanoCpus, CpuShares, CpuQuota and CpuPeriod must not be negative")
	}
	if res.NanoCPUs > 0 && (res.CPUQuota > 0 || res.CPUPeriod > 0) {
		return u, invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}
	if res.CPUPeriod > 0 && res.CPUQuota == 0 {
		return u, invalid("CpuPeriod is served only with CpuQuota")
	}
	if res.Memory > 0 {
		u.Memory = &res.Memory
	}
	nano := res.NanoCPUs
	if res.CPUQuota > 0 {
		period := res.CPUPeriod
		if period == 0 {
			period = defaultCPUPeriod
		}
		nano = res.CPUQuota * 1e9 / period
	}
	if nano > 0 {
		u.NanoCPUs = &nano
	}
	if res.CPUShares > 0 {
		shares := uint64(res.CPUShares)
		u.CPUShares = &shares
	}
	if res.PidsLimit != nil {
		limit := max(*res.PidsLimit, 0) // 0 and -1 are unlimited
		u.PidsLimit = &limit
	}
	if res.MemorySwap != 0 {
		swap := res.MemorySwap
		u.MemorySwap = &swap
	}
	if res.CpusetCpus != "" {
		cpus := res.CpusetCpus
		u.CpusetCpus = &cpus
	}
	if res.CpusetMems != "" {
		mems := res.CpusetMems
		u.CpusetMems = &mems
	}
	if req.RestartPolicy.Name != "" {
		var cfg container.Config
		if err := restartPolicy(&cfg, req.RestartPolicy); err != nil {
			return u, err
		}
		u.Restart = &cfg.Restart
	}
	return u, nil
}

// unservedResources refuses the resource fields berthd cannot update.
func unservedResources(res dcontainer.Resources) error {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"BlkioWeight", res.BlkioWeight != 0 || len(res.BlkioWeightDevice) > 0},
		{"BlkioDevice limits", len(res.BlkioDeviceReadBps)+len(res.BlkioDeviceWriteBps)+len(res.BlkioDeviceReadIOps)+len(res.BlkioDeviceWriteIOps) > 0},
		{"CpuRealtimePeriod/Runtime", res.CPURealtimePeriod != 0 || res.CPURealtimeRuntime != 0},
		{"MemoryReservation", res.MemoryReservation != 0},
		{"MemorySwappiness", res.MemorySwappiness != nil && *res.MemorySwappiness >= 0},
		{"OomKillDisable", res.OomKillDisable != nil && *res.OomKillDisable},
		{"Devices", len(res.Devices)+len(res.DeviceCgroupRules)+len(res.DeviceRequests) > 0},
		{"Ulimits", len(res.Ulimits) > 0},
		{"CgroupParent", res.CgroupParent != ""},
	} {
		if f.set {
			return invalid("berthd does not serve updating %s", f.name)
		}
	}
	return nil
}

// pruneContainers answers POST /containers/prune: the stopped containers
// matching ?filters= (until, label, label!) are removed.
func (s *Server) pruneContainers(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err == nil {
		err = f.check("until", "label", "label!")
	}
	var untils []time.Time
	for _, v := range f["until"] {
		if err != nil {
			break
		}
		var t time.Time
		t, err = pruneUntil(v, time.Now())
		untils = append(untils, t)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.pruning.TryLock() {
		writeError(w, errdefs.New(errdefs.ErrConflict, "a prune operation is already running"))
		return
	}
	defer s.pruning.Unlock()
	sizes := map[string]uint64{}
	removed, err := s.e.PruneContainers(r.Context(), Namespace, func(c engine.Container) bool {
		for _, u := range untils {
			if !c.CreatedAt.Before(u) {
				return false
			}
		}
		if !f.matchLabels(c.Labels) {
			return false
		}
		sizes[c.ID] = s.writableSize(r, c)
		return true
	})
	if err != nil {
		writeError(w, err)
		return
	}
	report := dcontainer.PruneReport{ContainersDeleted: removed}
	for _, id := range removed {
		report.SpaceReclaimed += sizes[id]
	}
	writeJSON(w, http.StatusOK, report)
}

// writableSize is the bytes of c's writable layer; 0 when unknown.
func (s *Server) writableSize(r *http.Request, c engine.Container) uint64 {
	sn, err := s.e.Snapshotter(Namespace)
	if err != nil || c.SnapshotKey == "" {
		return 0
	}
	u, err := sn.Usage(r.Context(), c.SnapshotKey)
	if err != nil || u.Size < 0 {
		return 0
	}
	return uint64(u.Size)
}

// pruneUntil reads an until filter as Docker does: a Unix timestamp, an
// RFC 3339 time or date, or a duration before now.
func pruneUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := unixTime("until", v); err == nil && !t.IsZero() {
		return t, nil
	}
	return time.Time{}, invalid("invalid filter 'until=%s': want a timestamp or a duration", v)
}
