package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/archive/compression"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
)

// The container archive endpoints, `docker cp` both ways and `docker
// export`: a thin adapter over the engine's CopyFromContainer,
// StatContainerPath, CopyToContainer and ExportContainer, which resolve
// every path inside the container's root (a running container's with
// its mounts).

// pathStatHeader carries a path's stat, base64 JSON, as Docker's.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func (s *Server) routeArchive(mux *http.ServeMux) {
	mux.HandleFunc("GET /containers/{id}/archive", s.getArchive)
	mux.HandleFunc("HEAD /containers/{id}/archive", s.statArchive)
	mux.HandleFunc("PUT /containers/{id}/archive", s.putArchive)
	mux.HandleFunc("GET /containers/{id}/export", s.exportContainer)
}

// getArchive answers GET /containers/{id}/archive?path=: the path's stat
// in the header, its tar in the body.
func (s *Server) getArchive(w http.ResponseWriter, r *http.Request) {
	rc, st, err := s.openPath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	defer rc.Close()
	if err := setPathStat(w, st); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	// A failure now can only cut the stream: the status is sent.
	_, _ = io.Copy(w, rc)
}

// statArchive answers HEAD /containers/{id}/archive?path=: the stat
// header alone.
func (s *Server) statArchive(w http.ResponseWriter, r *http.Request) {
	st, err := s.statPath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := setPathStat(w, st); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// openPath opens the tar of the request's path in its container, with
// Docker's errors for a missing path or parameter.
func (s *Server) openPath(r *http.Request) (io.ReadCloser, archive.PathStat, error) {
	ref, p := r.PathValue("id"), r.URL.Query().Get("path")
	if p == "" {
		return nil, archive.PathStat{}, invalid("path cannot be empty")
	}
	rc, st, err := s.e.CopyFromContainer(r.Context(), Namespace, ref, p)
	return rc, st, pathError(err, ref, p)
}

// statPath describes the request's path in its container, with openPath's
// errors.
func (s *Server) statPath(r *http.Request) (archive.PathStat, error) {
	ref, p := r.PathValue("id"), r.URL.Query().Get("path")
	if p == "" {
		return archive.PathStat{}, invalid("path cannot be empty")
	}
	st, err := s.e.StatContainerPath(r.Context(), Namespace, ref, p)
	return st, pathError(err, ref, p)
}

// pathError gives a missing path p in container ref Docker's message; a
// missing container keeps the engine's.
func pathError(err error, ref, p string) error {
	if errors.Is(err, errdefs.ErrNotFound) && !errors.Is(err, engine.ErrContainerNotFound) {
		return notFound("Could not find the file %s in container %s", p, ref)
	}
	return err
}

// writableContainer finds container ref for a write to path p: refused,
// as Docker does, in a read-only mount or, outside the container's
// writable mounts, when its root is read-only. The engine copies in a
// running container's view, mounts and all, and refuses a path at or
// under a mount of a stopped one.
func (s *Server) writableContainer(r *http.Request, ref, p string) (engine.Container, error) {
	c, err := s.e.Container(r.Context(), Namespace, ref)
	if err != nil {
		return c, err
	}
	cfg, err := engine.ContainerConfig(c)
	if err != nil {
		return c, err
	}
	clean, in := path.Clean("/"+p), ""
	var ro bool
	for _, m := range cfg.Mounts {
		t := path.Clean("/" + m.Target)
		if (clean == t || strings.HasPrefix(clean, strings.TrimSuffix(t, "/")+"/")) && len(t) > len(in) {
			in, ro = t, m.ReadOnly
		}
	}
	switch {
	case in != "" && ro:
		return c, errdefs.New(errdefs.ErrPermissionDenied, "mounted volume is marked read-only")
	case in == "" && cfg.ReadOnly:
		return c, errdefs.New(errdefs.ErrPermissionDenied, "container rootfs is marked read-only")
	}
	return c, nil
}

// setPathStat sets the stat header.
func setPathStat(w http.ResponseWriter, st archive.PathStat) error {
	b, err := json.Marshal(dcontainer.PathStat{
		Name: st.Name, Size: st.Size, Mode: st.Mode, Mtime: st.Mtime, LinkTarget: st.LinkTarget,
	})
	if err != nil {
		return fmt.Errorf("encode the path's stat: %w", err)
	}
	w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(b))
	return nil
}

// putArchive answers PUT /containers/{id}/archive?path=: the tar in the
// body is unpacked into the directory path, which must exist (the
// Docker CLI has already renamed the tar's entries for the target).
// copyUIDGID keeps the tar's owners; noOverwriteDirNonDir refuses to
// replace a directory with a non-directory or the reverse.
func (s *Server) putArchive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref, p := r.PathValue("id"), q.Get("path")
	if p == "" {
		writeError(w, invalid("path cannot be empty"))
		return
	}
	c, err := s.writableContainer(r, ref, p)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.checkExtractDir(r, c.ID, ref, p); err != nil {
		writeError(w, err)
		return
	}
	body, _, err := compression.Decompress(r.Body) // Docker takes a compressed tar too
	if err != nil {
		writeError(w, invalid("read the archive: %v", err))
		return
	}
	defer body.Close()
	err = s.e.CopyToContainer(r.Context(), Namespace, c.ID, p, body, archive.CopyInOptions{
		SrcName: ".", SrcIsDir: true,
		CopyUIDGID:           boolParam(q.Get("copyUIDGID")),
		NoOverwriteDirNonDir: boolParam(q.Get("noOverwriteDirNonDir")),
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// checkExtractDir refuses, as Docker does, an extraction point that is
// missing (404) or no directory (400).
func (s *Server) checkExtractDir(r *http.Request, id, ref, p string) error {
	st, err := s.e.StatContainerPath(r.Context(), Namespace, id, p)
	if err != nil {
		return pathError(err, ref, p)
	}
	if !st.Mode.IsDir() {
		return invalid("extraction point is not a directory")
	}
	return nil
}

// exportContainer answers GET /containers/{id}/export: a tar of the
// container's root filesystem, running or not.
func (s *Server) exportContainer(w http.ResponseWriter, r *http.Request) {
	c, err := s.e.Container(r.Context(), Namespace, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	rc, err := s.e.ExportContainer(r.Context(), Namespace, c.ID)
	if err != nil {
		writeError(w, fmt.Errorf("export container %s: %w", c.ID, err))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
}
