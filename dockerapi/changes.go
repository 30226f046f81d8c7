package dockerapi

import (
	"errors"
	"net/http"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
)

// The container changes endpoint, `docker diff`: a thin adapter over
// Engine.Changes.

func (s *Server) routeChanges(mux *http.ServeMux) {
	mux.HandleFunc("GET /containers/{id}/changes", s.containerChanges)
}

// containerChanges answers GET /containers/{id}/changes: the paths of
// the container's root filesystem that differ from its image, in the
// engine's (Docker's) order; none is an empty list.
func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	changes, err := s.e.Changes(r.Context(), Namespace, ref)
	if errors.Is(err, engine.ErrContainerNotFound) {
		err = errdefs.New(errdefs.ErrNotFound, "No such container: "+ref)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toFilesystemChanges(changes))
}

// toFilesystemChanges converts the engine's changes to Docker's wire
// type; the kinds' values are the same.
func toFilesystemChanges(changes []engine.Change) []dcontainer.FilesystemChange {
	out := make([]dcontainer.FilesystemChange, 0, len(changes))
	for _, c := range changes {
		out = append(out, dcontainer.FilesystemChange{Path: c.Path, Kind: dcontainer.ChangeType(c.Kind)})
	}
	return out
}
