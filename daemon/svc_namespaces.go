package daemon

import (
	"context"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/engine"
	"google.golang.org/protobuf/types/known/emptypb"
)

type namespacesService struct {
	apiv1.UnimplementedNamespacesServer
	d *Daemon
}

// namespace returns the request's namespace, validated.
func namespace(ctx context.Context) (string, error) {
	ns := api.NamespaceFromIncoming(ctx)
	if err := engine.ValidateNamespace(ns); err != nil {
		return "", err
	}
	return ns, nil
}

// List serves the Namespaces.List RPC.
func (s *namespacesService) List(ctx context.Context, _ *emptypb.Empty) (*apiv1.ListNamespacesResponse, error) {
	nss, err := s.d.engine.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	return &apiv1.ListNamespacesResponse{Namespaces: nss}, nil
}

// Create serves the Namespaces.Create RPC.
func (s *namespacesService) Create(ctx context.Context, r *apiv1.CreateNamespaceRequest) (*emptypb.Empty, error) {
	if err := s.d.engine.CreateNamespace(ctx, r.GetName()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Delete serves the Namespaces.Delete RPC.
func (s *namespacesService) Delete(ctx context.Context, r *apiv1.DeleteNamespaceRequest) (*emptypb.Empty, error) {
	if err := s.d.engine.DeleteNamespace(ctx, r.GetName()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
