package dockerapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/moby/moby/api/types/volume"
)

func (s *Server) routeVolumes(mux *http.ServeMux) {
	mux.HandleFunc("GET /volumes", s.listVolumes)
	mux.HandleFunc("POST /volumes/create", s.createVolume)
	mux.HandleFunc("POST /volumes/prune", s.pruneVolumes)
	mux.HandleFunc("GET /volumes/{name}", s.inspectVolume)
	mux.HandleFunc("DELETE /volumes/{name}", s.removeVolume)
}

// volumeDriver is the one volume driver served, Docker's default.
const volumeDriver = "local"

// volumeOf is an engine volume in Docker's shape.
func volumeOf(v engine.Volume) volume.Volume {
	out := volume.Volume{
		Name: v.Name, Driver: volumeDriver, Mountpoint: v.Mountpoint, Scope: "local",
		CreatedAt: v.CreatedAt.Format(time.RFC3339), Labels: v.Labels, Options: map[string]string{},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	return out
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := f.check("dangling", "name", "label", "driver"); err != nil {
		writeError(w, err)
		return
	}
	var engineFilters []string
	for _, key := range []string{"dangling", "label"} {
		for _, v := range f[key] {
			engineFilters = append(engineFilters, key+"="+v)
		}
	}
	list, err := s.e.Volumes(r.Context(), engineFilters...)
	if err != nil {
		writeError(w, err)
		return
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range list {
		if f.any("name", func(n string) bool { return strings.Contains(v.Name, n) }) &&
			f.any("driver", func(d string) bool { return d == volumeDriver }) {
			out.Volumes = append(out.Volumes, volumeOf(v))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	switch {
	case req.Driver != "" && req.Driver != volumeDriver:
		writeError(w, invalid("volume driver %q is not served (only %s)", req.Driver, volumeDriver))
		return
	case len(req.DriverOpts) > 0:
		writeError(w, invalid("volume driver options are not served"))
		return
	case req.ClusterVolumeSpec != nil:
		writeError(w, invalid("cluster volumes are not served"))
		return
	}
	v, err := s.e.CreateVolume(r.Context(), req.Name, req.Labels)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, volumeOf(v))
}

func (s *Server) inspectVolume(w http.ResponseWriter, r *http.Request) {
	v, err := s.e.Volume(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, volumeOf(v))
}

func (s *Server) removeVolume(w http.ResponseWriter, r *http.Request) {
	if err := s.e.RemoveVolume(r.Context(), r.PathValue("name"), boolParam(r.URL.Query().Get("force"))); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pruneVolumes removes the unused volumes that match the filters (label,
// label!); from API 1.42 on only anonymous ones unless all=true, as
// Docker does.
func (s *Server) pruneVolumes(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := f.check("label", "label!", "all"); err != nil {
		writeError(w, err)
		return
	}
	all := compareVersions(versionOf(r), "1.42") < 0
	for _, v := range f["all"] {
		switch v {
		case "1", "true", "True":
			all = true
		case "0", "false", "False":
		default:
			writeError(w, invalid("invalid filter 'all=%s': want true or false", v))
			return
		}
	}
	removed, freed, err := s.e.PruneVolumes(r.Context(), all, labelFilters(f)...)
	if err != nil {
		writeError(w, err)
		return
	}
	out := volume.PruneReport{VolumesDeleted: removed, SpaceReclaimed: uint64(max(freed, 0))}
	if out.VolumesDeleted == nil {
		out.VolumesDeleted = []string{}
	}
	writeJSON(w, http.StatusOK, out)
}

// labelFilters are f's label and label! values as the engine's prune
// filters take them ("label=KEY[=VALUE]", "label!=KEY[=VALUE]").
func labelFilters(f filters) []string {
	var out []string
	for _, key := range []string{"label", "label!"} {
		for _, v := range f[key] {
			out = append(out, key+"="+v)
		}
	}
	return out
}
