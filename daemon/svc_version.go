package daemon

import (
	"context"
	"runtime"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/version"
	"google.golang.org/protobuf/types/known/emptypb"
)

// APIVersion is the version of the gRPC API served.
const APIVersion = "v1"

type versionService struct {
	apiv1.UnimplementedVersionServer
}

// Version serves the Version.Version RPC.
func (versionService) Version(context.Context, *emptypb.Empty) (*apiv1.VersionResponse, error) {
	return &apiv1.VersionResponse{Version: version.Version, GoVersion: runtime.Version(), ApiVersion: APIVersion}, nil
}
