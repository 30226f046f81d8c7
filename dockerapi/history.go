package dockerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/image"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageHistory serves GET /images/{name}/history: the config's history
// of the host's platform, newest first, each entry that made a layer
// with that layer's unpacked size. An image whose config records no
// history gets one entry per layer. The newest entry carries the
// image's ID and tags, the others "<missing>" as in Docker.
func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) {
	in, err := s.e.Inspect(r.Context(), Namespace, name, nil)
	if err != nil {
		writeError(w, noSuchImage(err, name))
		return
	}
	var cfg ocispec.Image
	var m ocispec.Manifest
	if in.ID == "" || json.Unmarshal(in.Config, &cfg) != nil || json.Unmarshal(in.Manifest, &m) != nil {
		writeError(w, errdefs.New(errdefs.ErrNotFound, "No such image: "+name+" (no manifest of it is present)"))
		return
	}
	sizes := s.layerSizes(r.Context(), cfg, m)
	hist := cfg.History
	if len(hist) == 0 {
		for range sizes {
			hist = append(hist, ocispec.History{Created: cfg.Created})
		}
	}
	out := []image.HistoryResponseItem{}
	for _, h := range hist {
		item := image.HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Tags: []string{}}
		if h.Created != nil {
			item.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && len(sizes) > 0 {
			item.Size, sizes = sizes[0], sizes[1:]
		}
		out = append(out, item)
	}
	slices.Reverse(out)
	if len(out) > 0 {
		out[0].ID = in.ID
		out[0].Tags = s.tagsOf(r.Context(), in.ImageInfo)
	}
	writeJSON(w, http.StatusOK, out)
}

// layerSizes are the unpacked sizes of the image's layers, bottom
// first: their snapshots' usage, else the layer blobs' sizes.
func (s *Server) layerSizes(ctx context.Context, cfg ocispec.Image, m ocispec.Manifest) []int64 {
	sizes := make([]int64, 0, len(m.Layers))
	for _, l := range m.Layers {
		sizes = append(sizes, l.Size)
	}
	sn, err := s.e.Snapshotter(Namespace)
	if err != nil || len(cfg.RootFS.DiffIDs) != len(sizes) {
		return sizes
	}
	for i, chain := range images.ChainIDs(cfg.RootFS.DiffIDs) {
		if u, err := sn.Usage(ctx, chain.String()); err == nil {
			sizes[i] = u.Size
		}
	}
	return sizes
}

// tagsOf lists the tags of info's image, as Docker prints them.
func (s *Server) tagsOf(ctx context.Context, info engine.ImageInfo) []string {
	tags := []string{}
	names, err := s.e.ImageNames(ctx, Namespace, info.Name)
	if err != nil {
		return tags
	}
	for _, img := range names {
		if ref, err := reference.Parse(img.Name); err == nil && ref.Tag != "" {
			tags = append(tags, reference.Familiar(ref.Name())+":"+ref.Tag)
		}
	}
	return tags
}
