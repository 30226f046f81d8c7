package dockerapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/image"
)

// deleteImage serves DELETE /images/{name}?force=&noprune=: the
// engine's Delete, answered with Docker's list of the names untagged and
// the image deleted. Unless noprune, the image's content and snapshots
// are collected before the answer.
func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request, name string) {
	ctx, q := r.Context(), r.URL.Query()
	group, err := s.e.ImageNames(ctx, Namespace, name)
	if err != nil {
		writeError(w, noSuchImage(err, name))
		return
	}
	id := s.imageID(ctx, group[0])
	o := engine.DeleteOptions{Force: boolParam(q.Get("force")), Sync: !boolParam(q.Get("noprune"))}
	if err := s.e.Delete(ctx, Namespace, name, o); err != nil {
		writeError(w, noSuchImage(err, name))
		return
	}
	out, err := s.removed(ctx, group, id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// removed reports which records of one image's group (of ID id) are
// gone: each name untagged and, when none is left, the image's
// repository digests untagged and the image deleted.
func (s *Server) removed(ctx context.Context, group []images.Image, id string) ([]image.DeleteResponse, error) {
	list, err := s.e.List(ctx, Namespace)
	if err != nil {
		return nil, err
	}
	left := map[string]bool{}
	for _, info := range list {
		left[info.Name] = true
	}
	out := []image.DeleteResponse{}
	seen := map[string]bool{}
	untag := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, image.DeleteResponse{Untagged: name})
		}
	}
	gone := len(group) > 0
	for _, img := range group {
		if left[img.Name] {
			gone = false
		} else if ref, err := reference.Parse(img.Name); err == nil {
			untag(reference.Familiar(ref.String()))
		}
	}
	if !gone {
		return out, nil
	}
	for _, img := range group {
		if ref, err := reference.Parse(img.Name); err == nil {
			untag(reference.Familiar(ref.Name()) + "@" + img.Target.Digest.String())
		}
	}
	return append(out, image.DeleteResponse{Deleted: id}), nil
}

// imageID is img's ID (its config digest), or its target digest when no
// manifest of it is present.
func (s *Server) imageID(ctx context.Context, img images.Image) string {
	if id := s.e.Describe(ctx, Namespace, img, nil).ID; id != "" {
		return id
	}
	return img.Target.Digest.String()
}

// pruneImages serves POST /images/prune. Docker prunes dangling images
// unless the filter dangling=false (docker image prune -a) asks for
// every image no container uses; berthd has no dangling image (each has
// a name), so only the latter removes anything. until and label narrow
// it; the answer lists what was untagged and deleted and the content
// bytes freed.
func (s *Server) pruneImages(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := imageFilters(r, "until")
	if err != nil {
		writeError(w, err)
		return
	}
	until, err := untilFilter(f["until"])
	if err != nil {
		writeError(w, err)
		return
	}
	report := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}}
	if len(f["dangling"]) == 0 || f.danglingOnly() {
		writeJSON(w, http.StatusOK, report)
		return
	}
	groups, err := s.unusedImages(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	_, before, err := s.e.ContentUsage(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, g := range groups {
		if !until.IsZero() && !s.createdBefore(ctx, g[0], until) || !f.matchLabels(s.configLabels(ctx, g[0].Name)) {
			continue
		}
		deleted, err := s.deleteGroup(ctx, g)
		if err != nil {
			writeError(w, err)
			return
		}
		report.ImagesDeleted = append(report.ImagesDeleted, deleted...)
	}
	if _, err := s.e.GC(ctx); err != nil {
		writeError(w, err)
		return
	}
	if _, after, err := s.e.ContentUsage(ctx); err == nil && after < before {
		report.SpaceReclaimed = uint64(before - after)
	}
	writeJSON(w, http.StatusOK, report)
}

// unusedImages lists the images no container (of any state) uses, each
// as the group of its records.
func (s *Server) unusedImages(ctx context.Context) ([][]images.Image, error) {
	ctrs, err := s.e.Containers(ctx, Namespace, true)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.ImageID] = true
	}
	list, err := s.e.List(ctx, Namespace)
	if err != nil {
		return nil, err
	}
	var keys []string
	byKey := map[string][]images.Image{}
	for _, info := range list {
		key := info.ID
		if key == "" {
			key = info.Target.Digest.String()
		}
		if used[key] {
			continue
		}
		if byKey[key] == nil {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], info.Image)
	}
	out := make([][]images.Image, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out, nil
}

// deleteGroup removes each record of an unused image, leaving garbage
// collection to the caller, and reports them.
func (s *Server) deleteGroup(ctx context.Context, group []images.Image) ([]image.DeleteResponse, error) {
	id := s.imageID(ctx, group[0])
	for _, img := range group {
		err := s.e.Delete(ctx, Namespace, img.Name, engine.DeleteOptions{})
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	return s.removed(ctx, group, id)
}

// createdBefore tells whether img's config (else its record) was
// created before t.
func (s *Server) createdBefore(ctx context.Context, img images.Image, t time.Time) bool {
	if c := s.e.Describe(ctx, Namespace, img, nil).Created; c != nil {
		return c.Before(t)
	}
	return img.CreatedAt.Before(t)
}

// untilFilter reads the until filter: a duration back from now, an
// RFC 3339 time or date, or Unix seconds; zero when absent.
func untilFilter(vals []string) (time.Time, error) {
	switch len(vals) {
	case 0:
		return time.Time{}, nil
	case 1:
	default:
		return time.Time{}, invalid("more than one until filter specified")
	}
	v := vals[0]
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	t, err := unixTime("until", v)
	if err != nil || t.IsZero() {
		return time.Time{}, invalid("invalid filter 'until=%s'", v)
	}
	return t, nil
}
