package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
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
	mux.HandleFunc("GET /images/get", s.saveImages)
	mux.HandleFunc("POST /images/create", s.pullImage)
	mux.HandleFunc("POST /images/load", s.loadImages)
	mux.HandleFunc("POST /images/prune", s.pruneImages)
	// Names hold slashes, so /images/{name}/{action} is split by hand.
	mux.HandleFunc("GET /images/{rest...}", imageRoutes(map[string]imageHandler{
		"json": s.inspectImage, "history": s.imageHistory, "get": s.saveImage,
	}))
	mux.HandleFunc("POST /images/{rest...}", imageRoutes(map[string]imageHandler{
		"tag": s.tagImage, "push": s.pushImage,
	}))
	mux.HandleFunc("DELETE /images/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		s.deleteImage(w, r, r.PathValue("rest"))
	})
}

// imageHandler serves one /images/{name}/{action} endpoint for name.
type imageHandler func(w http.ResponseWriter, r *http.Request, name string)

// imageRoutes dispatches /images/{rest...} on rest's action.
func imageRoutes(byAction map[string]imageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, action := splitImagePath(r.PathValue("rest"))
		h := byAction[action]
		if h == nil || name == "" {
			notServed(w, r)
			return
		}
		h(w, r, name)
	}
}

// splitImagePath splits "NAME/ACTION" at its last slash: an image name
// (127.0.0.1:5000/a/b:tag, a@sha256:…) holds slashes, an action never.
// A path without a slash is a name alone.
func splitImagePath(rest string) (name, action string) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return rest, ""
	}
	return rest[:i], rest[i+1:]
}

// noSuchImage gives a not-found error Docker's message for name.
func noSuchImage(err error, name string) error {
	if errors.Is(err, errdefs.ErrNotFound) {
		return errdefs.New(errdefs.ErrNotFound, "No such image: "+name)
	}
	return err
}

// listImages serves GET /images/json with filters dangling, reference
// and label. Every image berthd holds has a name, so none is dangling.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	f, err := imageFilters(r, "reference")
	if err != nil {
		writeError(w, err)
		return
	}
	out := []image.Summary{}
	if f.danglingOnly() {
		writeJSON(w, http.StatusOK, out)
		return
	}
	list, err := s.e.List(r.Context(), Namespace)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, sum := range s.imageSummaries(r.Context(), list, func(name string) bool {
		return f.any("reference", func(p string) bool { return matchReference(p, name) })
	}) {
		if f.matchLabels(sum.Labels) {
			out = append(out, *sum)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// imageSummaries are the images of list that have a manifest present
// and a name keep accepts, one summary per image ID with all its names,
// sorted by ID.
func (s *Server) imageSummaries(ctx context.Context, list []engine.ImageInfo, keep func(name string) bool) []*image.Summary {
	byID := map[string]*image.Summary{}
	var ids []string
	for _, info := range list {
		if info.ID == "" || !keep(info.Name) {
			continue // no manifest of it present, or filtered out
		}
		sum := byID[info.ID]
		if sum == nil {
			sum = &image.Summary{
				ID: info.ID, Size: info.Size, Containers: -1, SharedSize: -1,
				Labels: s.configLabels(ctx, info.Name), RepoTags: []string{}, RepoDigests: []string{},
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
	out := make([]*image.Summary, 0, len(ids))
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return out
}

// configLabels are the labels of the image config of name for the
// host's platform; none when that is absent.
func (s *Server) configLabels(ctx context.Context, name string) map[string]string {
	labels := map[string]string{}
	in, err := s.e.Inspect(ctx, Namespace, name, nil)
	var cfg ocispec.Image
	if err == nil && json.Unmarshal(in.Config, &cfg) == nil {
		maps.Copy(labels, cfg.Config.Labels)
	}
	return labels
}

// imageFilters parses the request's image filters: dangling, label,
// label! and the extra keys the endpoint takes.
func imageFilters(r *http.Request, extra ...string) (filters, error) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, err
	}
	if err := f.check(append([]string{"dangling", "label", "label!"}, extra...)...); err != nil {
		return nil, err
	}
	for _, v := range f["dangling"] {
		if _, err := strconv.ParseBool(v); err != nil {
			return nil, invalid("invalid filter 'dangling=%s'", v)
		}
	}
	return f, nil
}

// danglingOnly tells whether the filters ask for dangling images alone.
func (f filters) danglingOnly() bool {
	return slices.ContainsFunc(f["dangling"], func(v string) bool {
		b, _ := strconv.ParseBool(v)
		return b
	})
}

// matchReference matches a reference filter (a path.Match pattern)
// against name as Docker prints it: with its tag or digest, or alone.
func matchReference(pattern, name string) bool {
	ref, err := reference.Parse(name)
	if err != nil {
		return false
	}
	fam := reference.Familiar(ref.Name())
	forms := []string{fam}
	if ref.Tag != "" {
		forms = append(forms, fam+":"+ref.Tag)
	}
	if ref.Digest != "" {
		forms = append(forms, fam+"@"+ref.Digest.String())
	}
	return slices.ContainsFunc(forms, func(s string) bool {
		ok, _ := path.Match(pattern, s)
		return ok
	})
}

func (s *Server) inspectImage(w http.ResponseWriter, r *http.Request, name string) {
	in, err := s.e.Inspect(r.Context(), Namespace, name, nil)
	if err != nil {
		writeError(w, noSuchImage(err, name))
		return
	}
	if in.ID == "" {
		writeError(w, errdefs.New(errdefs.ErrNotFound, "No such image: "+name+" (no manifest of it is present)"))
		return
	}
	out := imageInspectOf(in)
	// Docker's inspect lists every name of the image (docker-py's
	// Image.tags reads them), not only the one asked for.
	if list, err := s.e.List(r.Context(), Namespace); err == nil {
		if tags, digests := imageNames(list, in.ID); len(tags)+len(digests) > 0 {
			out.RepoTags, out.RepoDigests = tags, digests
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// imageNames are the RepoTags and RepoDigests of the image id: every
// name of list that points at it, each repository's digest once.
func imageNames(list []engine.ImageInfo, id string) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	for _, info := range list {
		ref, err := reference.Parse(info.Name)
		if info.ID != id || err != nil {
			continue
		}
		fam := reference.Familiar(ref.Name())
		if ref.Tag != "" {
			tags = append(tags, fam+":"+ref.Tag)
		}
		if d := fam + "@" + info.Target.Digest.String(); !slices.Contains(digests, d) {
			digests = append(digests, d)
		}
	}
	return tags, digests
}

// tagImage serves POST /images/{name}/tag?repo=&tag= (tag defaults to
// latest) with Docker's 201.
func (s *Server) tagImage(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	repo, tag := q.Get("repo"), q.Get("tag")
	if repo == "" {
		writeError(w, invalid("repository name must have at least one component"))
		return
	}
	if tag == "" {
		tag = "latest"
	}
	target, err := reference.Parse(repo + ":" + tag)
	if err != nil || strings.Contains(repo, "@") {
		writeError(w, invalid("invalid reference format: %s:%s", repo, tag))
		return
	}
	if _, err := s.e.Tag(r.Context(), Namespace, name, target.String()); err != nil {
		writeError(w, noSuchImage(err, name))
		return
	}
	w.WriteHeader(http.StatusCreated)
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
