package daemon

import (
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/engine"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func toDescriptor(d ocispec.Descriptor) *apiv1.Descriptor {
	out := &apiv1.Descriptor{MediaType: d.MediaType, Digest: d.Digest.String(), Size: d.Size, Annotations: d.Annotations}
	if d.Platform != nil {
		out.Platform = toPlatform(*d.Platform)
	}
	return out
}

func toPlatform(p ocispec.Platform) *apiv1.Platform {
	return &apiv1.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

func fromPlatform(p *apiv1.Platform) *ocispec.Platform {
	if p == nil || p.GetOs() == "" {
		return nil
	}
	return &ocispec.Platform{OS: p.GetOs(), Architecture: p.GetArchitecture(), Variant: p.GetVariant()}
}

func toImageInfo(img engine.ImageInfo) *apiv1.ImageInfo {
	info := &apiv1.ImageInfo{
		Name:      img.Name,
		Target:    toDescriptor(img.Target),
		Labels:    img.Labels,
		CreatedAt: timestamppb.New(img.CreatedAt),
		UpdatedAt: timestamppb.New(img.UpdatedAt),
	}
	if img.ID == "" {
		return info
	}
	info.Id = img.ID
	info.Size = img.Size
	if img.Created != nil {
		info.Created = timestamppb.New(*img.Created)
	}
	info.Platform = toPlatform(img.Platform)
	return info
}

// toAuth converts the credentials a client sent.
func toAuth(auth []*apiv1.RegistryAuth) engine.Auth {
	out := engine.Auth{}
	for _, a := range auth {
		out[a.GetHost()] = toCredentials(a)
	}
	return out
}

func toCredentials(a *apiv1.RegistryAuth) credentials.Credentials {
	return credentials.Credentials{Username: a.GetUsername(), Password: a.GetPassword(), IdentityToken: a.GetIdentityToken()}
}
