package cri

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListImages serves ImageService.ListImages: one entry per image ID with
// every name it has.
func (i *imageService) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	e := i.s.cfg.Engine
	infos, err := e.List(ctx, Namespace)
	if err != nil {
		return nil, err
	}
	want := req.GetFilter().GetImage().GetImage()
	var wantID string
	if want != "" {
		info, err := i.s.lookupImage(ctx, want)
		if errors.Is(err, errdefs.ErrNotFound) {
			return &runtimeapi.ListImagesResponse{}, nil
		}
		if err != nil {
			return nil, err
		}
		wantID = info.ID
	}
	var out []*runtimeapi.Image
	for _, group := range groupByID(infos) {
		if wantID != "" && group[0].ID != wantID {
			continue
		}
		img, err := i.s.criImage(ctx, group)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return &runtimeapi.ListImagesResponse{Images: out}, nil
}

// groupByID groups image records by config digest (records without a
// present manifest are left out), in the order first seen.
func groupByID(infos []engine.ImageInfo) [][]engine.ImageInfo {
	var order []string
	byID := map[string][]engine.ImageInfo{}
	for _, info := range infos {
		if info.ID == "" {
			continue
		}
		if _, ok := byID[info.ID]; !ok {
			order = append(order, info.ID)
		}
		byID[info.ID] = append(byID[info.ID], info)
	}
	out := make([][]engine.ImageInfo, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	return out
}

// lookupImage finds an image by reference or ID.
func (s *Server) lookupImage(ctx context.Context, ref string) (engine.ImageInfo, error) {
	img, err := s.cfg.Engine.Lookup(ctx, Namespace, ref)
	if err != nil {
		return engine.ImageInfo{}, err
	}
	info := s.cfg.Engine.Describe(ctx, Namespace, img, nil)
	if info.ID == "" {
		return engine.ImageInfo{}, fmt.Errorf("%w: image %s has no manifest for this platform", errdefs.ErrNotFound, ref)
	}
	return info, nil
}

// imageGroup is every record sharing info's ID.
func (s *Server) imageGroup(ctx context.Context, info engine.ImageInfo) ([]engine.ImageInfo, error) {
	infos, err := s.cfg.Engine.List(ctx, Namespace)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(infos, func(o engine.ImageInfo) bool { return o.ID != info.ID }), nil
}

// criImage describes the records of one image ID.
func (s *Server) criImage(ctx context.Context, group []engine.ImageInfo) (*runtimeapi.Image, error) {
	img := &runtimeapi.Image{Id: group[0].ID, Size: uint64(max(group[0].Size, 0))}
	for _, info := range group {
		ref, err := reference.Parse(info.Name)
		if err != nil {
			continue
		}
		if ref.Digest == "" {
			img.RepoTags = append(img.RepoTags, ref.String())
		}
		// The sandbox image is pinned: the kubelet's image GC keeps it.
		img.Pinned = img.Pinned || s.cfg.SandboxImage != "" && ref.String() == s.cfg.SandboxImage
		rd := ref.Name() + "@" + info.Target.Digest.String()
		if !slices.Contains(img.RepoDigests, rd) {
			img.RepoDigests = append(img.RepoDigests, rd)
		}
	}
	img.Spec = &runtimeapi.ImageSpec{Image: img.Id}
	cfg, err := s.imageConfig(ctx, group[0].Name)
	if err != nil {
		return nil, err
	}
	user, _, _ := strings.Cut(cfg.Config.User, ":")
	if uid, err := strconv.ParseInt(user, 10, 64); err == nil {
		img.Uid = &runtimeapi.Int64Value{Value: uid}
	} else {
		img.Username = user
	}
	return img, nil
}

// imageConfig reads an image's config for this platform.
func (s *Server) imageConfig(ctx context.Context, ref string) (ocispec.Image, error) {
	var cfg ocispec.Image
	ins, err := s.cfg.Engine.Inspect(ctx, Namespace, ref, nil)
	if err != nil {
		return cfg, err
	}
	if ins.Config == nil {
		return cfg, fmt.Errorf("%w: image %s has no manifest for this platform", errdefs.ErrNotFound, ref)
	}
	if err := json.Unmarshal(ins.Config, &cfg); err != nil {
		return cfg, fmt.Errorf("%w: image %s's config: %v", errdefs.ErrDataLoss, ref, err)
	}
	return cfg, nil
}

// ImageStatus serves ImageService.ImageStatus: a missing image is no
// error, an empty answer.
func (i *imageService) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, fmt.Errorf("%w: no image given", errdefs.ErrInvalidArgument)
	}
	info, err := i.s.lookupImage(ctx, ref)
	if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, reference.ErrInvalid) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	group, err := i.s.imageGroup(ctx, info)
	if err != nil {
		return nil, err
	}
	img, err := i.s.criImage(ctx, group)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ImageStatusResponse{Image: img}
	if req.GetVerbose() {
		cfg, err := i.s.imageConfig(ctx, info.Name)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(map[string]any{"imageSpec": cfg})
		if err != nil {
			return nil, fmt.Errorf("encode image info: %w", err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// PullImage serves ImageService.PullImage with the request's
// credentials for the image's registry.
func (i *imageService) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	name := req.GetImage().GetImage()
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", name, err)
	}
	auth, err := pullAuth(ref.Domain, req.GetAuth())
	if err != nil {
		return nil, err
	}
	img, err := i.s.cfg.Engine.Pull(ctx, Namespace, ref.String(), engine.PullOptions{Auth: auth})
	if err != nil {
		return nil, err
	}
	info := i.s.cfg.Engine.Describe(ctx, Namespace, img, nil)
	if info.ID == "" {
		return nil, fmt.Errorf("%w: image %s has no manifest for this platform", errdefs.ErrNotFound, name)
	}
	return &runtimeapi.PullImageResponse{ImageRef: info.ID}, nil
}

// pullAuth turns a CRI AuthConfig into the engine's credentials for
// host: username and password (or auth, base64 "user:password"), or an
// identity token.
func pullAuth(host string, a *runtimeapi.AuthConfig) (engine.Auth, error) {
	if a == nil {
		return nil, nil
	}
	c := credentials.Credentials{Username: a.GetUsername(), Password: a.GetPassword(), IdentityToken: a.GetIdentityToken()}
	if a.GetAuth() != "" {
		b, err := base64.StdEncoding.DecodeString(a.GetAuth())
		if err != nil {
			return nil, fmt.Errorf("%w: auth: not base64", errdefs.ErrInvalidArgument)
		}
		user, pass, ok := strings.Cut(string(b), ":")
		if !ok {
			return nil, fmt.Errorf("%w: auth: want base64 of user:password", errdefs.ErrInvalidArgument)
		}
		c.Username, c.Password = user, pass
	}
	if c == (credentials.Credentials{}) {
		return nil, nil
	}
	return engine.Auth{host: c}, nil
}

// RemoveImage serves ImageService.RemoveImage: every name of the image
// goes; a missing image is no error.
func (i *imageService) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, fmt.Errorf("%w: no image given", errdefs.ErrInvalidArgument)
	}
	names, err := i.s.cfg.Engine.ImageNames(ctx, Namespace, ref)
	if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, reference.ErrInvalid) {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	for _, o := range names {
		if err := i.s.cfg.Engine.Delete(ctx, Namespace, o.Name, engine.DeleteOptions{}); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsInfo serves ImageService.ImageFsInfo: the bytes and blobs of
// the content store under the engine's root.
func (i *imageService) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	blobs, size, err := i.s.cfg.Engine.ContentUsage(ctx)
	if err != nil {
		return nil, err
	}
	fs := &runtimeapi.FilesystemUsage{
		Timestamp:  time.Now().UnixNano(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: i.s.cfg.Engine.Root()},
		UsedBytes:  &runtimeapi.UInt64Value{Value: uint64(max(size, 0))},
		InodesUsed: &runtimeapi.UInt64Value{Value: uint64(max(blobs, 0))},
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{fs}, ContainerFilesystems: []*runtimeapi.FilesystemUsage{fs}}, nil
}
