package dockerapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/images"
	dcontainer "github.com/moby/moby/api/types/container"
)

func (s *Server) routeContainers(mux *http.ServeMux) {
	mux.HandleFunc("POST /containers/create", s.createContainer)
	mux.HandleFunc("GET /containers/json", s.listContainers)
	mux.HandleFunc("GET /containers/{id}/json", s.inspectContainer)
	mux.HandleFunc("POST /containers/{id}/start", s.startContainer)
	mux.HandleFunc("POST /containers/{id}/stop", s.stopContainer)
	mux.HandleFunc("POST /containers/{id}/restart", s.restartContainer)
	mux.HandleFunc("POST /containers/{id}/kill", s.killContainer)
	mux.HandleFunc("POST /containers/{id}/wait", s.waitContainer)
	mux.HandleFunc("POST /containers/{id}/attach", s.attachContainer)
	mux.HandleFunc("POST /containers/{id}/resize", s.resizeContainer)
	mux.HandleFunc("GET /containers/{id}/logs", s.containerLogs)
	mux.HandleFunc("DELETE /containers/{id}", s.removeContainer)
	mux.HandleFunc("GET /containers/{id}/stats", s.containerStats)
	mux.HandleFunc("GET /containers/{id}/top", s.topContainer)
	mux.HandleFunc("POST /containers/{id}/pause", s.pauseContainer)
	mux.HandleFunc("POST /containers/{id}/unpause", s.unpauseContainer)
	mux.HandleFunc("POST /containers/{id}/rename", s.renameContainer)
	mux.HandleFunc("POST /containers/{id}/update", s.updateContainer)
	mux.HandleFunc("POST /containers/prune", s.pruneContainers)
}

func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) {
	var req dcontainer.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	cfg, err := toConfig(r.URL.Query().Get("name"), req)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.e.CreateContainer(r.Context(), Namespace, cfg)
	if err != nil {
		if errors.Is(err, images.ErrNotFound) {
			// The CLI pulls on a 404 whose message names the image.
			err = errdefs.New(errdefs.ErrNotFound, "No such image: "+cfg.Image)
		}
		writeError(w, err)
		return
	}
	if cfg.Tty && req.HostConfig != nil {
		s.setConsoleSize(c.ID, req.HostConfig.ConsoleSize)
	}
	writeJSON(w, http.StatusCreated, dcontainer.CreateResponse{ID: c.ID, Warnings: []string{}})
}

func (s *Server) startContainer(w http.ResponseWriter, r *http.Request) {
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Status.State == engine.StateRunning || c.Status.State == engine.StatePaused {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	err = errAttachGone
	if p := s.takePending(c.ID); p != nil {
		err = p.start(r.Context())
	}
	if errors.Is(err, errAttachGone) {
		err = s.e.StartContainer(r.Context(), Namespace, c.ID)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// stopTimeout reads ?t= (seconds; -1 waits for ever); nil is the
// container's own.
func stopTimeout(r *http.Request) (*time.Duration, error) {
	t := r.URL.Query().Get("t")
	if t == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return nil, invalid("invalid value for t: %q", t)
	}
	d := time.Duration(n) * time.Second
	return &d, nil
}

func (s *Server) stopContainer(w http.ResponseWriter, r *http.Request) {
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	timeout, err := stopTimeout(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if c.Status.State != engine.StateRunning && c.Status.State != engine.StatePaused {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err := s.e.StopContainer(r.Context(), Namespace, c.ID, timeout); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) restartContainer(w http.ResponseWriter, r *http.Request) {
	timeout, err := stopTimeout(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	if err := s.e.StopContainer(r.Context(), Namespace, id, timeout); err != nil {
		writeError(w, err)
		return
	}
	if err := s.e.StartContainer(r.Context(), Namespace, id); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) killContainer(w http.ResponseWriter, r *http.Request) {
	err := s.e.KillContainer(r.Context(), Namespace, r.PathValue("id"), r.URL.Query().Get("signal"))
	if errors.Is(err, engine.ErrNotRunning) {
		err = errdefs.New(errdefs.ErrConflict, "Container "+r.PathValue("id")+" is not running")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := engine.RemoveOptions{Force: boolParam(q.Get("force")), Volumes: boolParam(q.Get("v"))}
	if boolParam(q.Get("link")) {
		writeError(w, invalid("links are not served"))
		return
	}
	err := s.e.RemoveContainer(r.Context(), Namespace, r.PathValue("id"), opts)
	if errors.Is(err, engine.ErrContainerRunning) {
		err = errdefs.New(errdefs.ErrConflict, "cannot remove container \""+r.PathValue("id")+"\": container is running: stop the container before removing or force remove")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// boolParam reads a query flag as Docker does: "", "0", "false" and
// "no" are false.
func boolParam(v string) bool {
	switch v {
	case "", "0", "false", "False", "no", "none":
		return false
	}
	return true
}
