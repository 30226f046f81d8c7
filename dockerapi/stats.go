package dockerapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
)

// statsInterval is how often a stats stream samples, as Docker's.
const statsInterval = time.Second

// notRunning is Docker's 409 for what needs a running container.
func notRunning(ref string) error {
	return errdefs.New(errdefs.ErrConflict, "Container "+ref+" is not running")
}

// topContainer answers GET /containers/{id}/top: the container's
// processes, read from /proc, or the host's ps with ?ps_args= kept to
// them.
func (s *Server) topContainer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	titles, rows, err := s.e.TopContainer(r.Context(), Namespace, id, strings.Fields(r.URL.Query().Get("ps_args")))
	if errors.Is(err, engine.ErrNotRunning) {
		err = notRunning(id)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if rows == nil {
		rows = [][]string{}
	}
	writeJSON(w, http.StatusOK, dcontainer.TopResponse{Titles: titles, Processes: rows})
}

// containerStats answers GET /containers/{id}/stats: with stream (the
// default) a sample a second until the client leaves or the container
// is removed; without, one sample whose precpu_stats were read a second
// before (none with one-shot), so that clients can work out CPU use.
// A container that does not run gives samples with only its name and ID.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	stream := q.Get("stream") == "" || boolParam(q.Get("stream"))
	oneShot := boolParam(q.Get("one-shot"))
	if stream && oneShot {
		writeError(w, invalid("cannot have stream=true and one-shot=true"))
		return
	}
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	prev, err := s.statsOf(r, c)
	if err != nil {
		writeError(w, err)
		return
	}
	fw := &flushWriter{w: w}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(fw)
	if stream || oneShot {
		if enc.Encode(prev) != nil || oneShot {
			return
		}
	}
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		cur, err := s.statsOf(r, c)
		if err != nil {
			return // removed meanwhile: the stream ends
		}
		cur.PreCPUStats, cur.PreRead = prev.CPUStats, prev.Read
		if enc.Encode(cur) != nil || !stream {
			return
		}
		prev = cur
	}
}

// statsOf samples c: its name and ID alone when it does not run.
func (s *Server) statsOf(r *http.Request, c engine.Container) (dcontainer.StatsResponse, error) {
	out := dcontainer.StatsResponse{ID: c.ID, Name: "/" + c.Name}
	smp, err := s.e.ContainerStats(r.Context(), Namespace, c.ID)
	switch {
	case errors.Is(err, engine.ErrNotRunning):
		if _, err := s.e.Container(r.Context(), Namespace, c.ID); err != nil {
			return out, err
		}
		return out, nil
	case err != nil:
		return out, err
	}
	out.OSType, out.Read = "linux", time.Now().UTC()
	out.CPUStats = dcontainer.CPUStats{
		CPUUsage:    dcontainer.CPUUsage{TotalUsage: smp.CPUTotal},
		SystemUsage: smp.SystemCPU, OnlineCPUs: smp.OnlineCPUs,
	}
	out.MemoryStats = dcontainer.MemoryStats{Usage: smp.MemoryUsage, Limit: smp.MemoryLimit}
	out.PidsStats = dcontainer.PidsStats{Current: smp.Pids}
	if cfg, err := engine.ContainerConfig(c); err == nil && cfg.Resources.PidsLimit > 0 {
		out.PidsStats.Limit = uint64(cfg.Resources.PidsLimit)
	}
	out.BlkioStats.IoServiceBytesRecursive = []dcontainer.BlkioStatEntry{
		{Op: "read", Value: smp.BlockRead}, {Op: "write", Value: smp.BlockWrite},
	}
	if c.Status.Network != nil {
		out.Networks = map[string]dcontainer.NetworkStats{"eth0": {RxBytes: smp.NetRx, TxBytes: smp.NetTx}}
	}
	return out, nil
}
