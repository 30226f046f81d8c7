package cri

import (
	"context"

	"github.com/berth-dev/berth/version"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Version values of the CRI served.
const (
	kubeAPIVersion    = "0.1.0"
	runtimeName       = "berth"
	runtimeAPIVersion = "v1"
)

// Version serves RuntimeService.Version.
func (r *runtimeService) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version: kubeAPIVersion, RuntimeName: runtimeName,
		RuntimeVersion: version.Version, RuntimeApiVersion: runtimeAPIVersion,
	}, nil
}
