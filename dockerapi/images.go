package dockerapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func (s *Server) routeImages(mux *http.ServeMux) {
	mux.HandleFunc("GET /images/json", s.listImages)
	mux.HandleFunc("POST /images/create", s.pullImage)
	// Names hold slashes: /images/{name}/json is matched by hand.
	mux.HandleFunc("GET /images/{rest...}", s.inspectImage)
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	list, err := s.e.List(r.Context(), Namespace)
	if err != nil {
		writeError(w, err)
		return
	}
	byID := map[string]*image.Summary{}
	var ids []string
	for _, info := range list {
		if info.ID == "" {
			continue // no manifest of it present
		}
		sum := byID[info.ID]
		if sum == nil {
			sum = &image.Summary{
				ID: info.ID, Size: info.Size, Containers: -1, SharedSize: -1,
				Labels: map[string]string{}, RepoTags: []string{}, RepoDigests: []string{},
			}
			if info.Created != nil {
				sum.Created = info.Created.Unix()
			}
			byID[info.ID] = sum
			ids = append(ids, info.ID)
		}
		if ref, err := reference.Parse(info.Name); err == nil {
			if ref.Tag != "" {
				sum.RepoTags = append(sum.RepoTags, reference.Familiar(ref.Name())+":"+ref.Tag)
			}
			sum.RepoDigests = append(sum.RepoDigests, reference.Familiar(ref.Name())+"@"+info.Target.Digest.String())
		}
	}
	sort.Strings(ids)
	out := []image.Summary{}
	for _, id := range ids {
		out = append(out, *byID[id])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) inspectImage(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("rest"), "/json")
	if !ok || name == "" {
		notServed(w, r)
		return
	}
	in, err := s.e.Inspect(r.Context(), Namespace, name, nil)
	if errors.Is(err, errdefs.ErrNotFound) {
		err = errdefs.New(errdefs.ErrNotFound, "No such image: "+name)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if in.ID == "" {
		writeError(w, errdefs.New(errdefs.ErrNotFound, "No such image: "+name+" (no manifest of it is present)"))
		return
	}
	writeJSON(w, http.StatusOK, imageInspectOf(in))
}

func imageInspectOf(in engine.Inspection) image.InspectResponse {
	out := image.InspectResponse{
		ID: in.ID, RepoTags: []string{}, RepoDigests: []string{}, Size: in.Size,
		Architecture: in.Platform.Architecture, Os: in.Platform.OS, Variant: in.Platform.Variant,
		Descriptor: in.ManifestDescriptor,
	}
	if ref, err := reference.Parse(in.Name); err == nil {
		if ref.Tag != "" {
			out.RepoTags = append(out.RepoTags, reference.Familiar(ref.Name())+":"+ref.Tag)
		}
		out.RepoDigests = append(out.RepoDigests, reference.Familiar(ref.Name())+"@"+in.Target.Digest.String())
	}
	if in.Created != nil {
		out.Created = in.Created.UTC().Format(time.RFC3339Nano)
	}
	var cfg ocispec.Image
	if json.Unmarshal(in.Config, &cfg) == nil {
		out.Config = &dockerspec.DockerOCIImageConfig{ImageConfig: cfg.Config}
		out.Author = cfg.Author
		out.RootFS = image.RootFS{Type: cfg.RootFS.Type}
		for _, d := range cfg.RootFS.DiffIDs {
			out.RootFS.Layers = append(out.RootFS.Layers, d.String())
		}
	}
	return out
}
