package daemon

import (
	"context"

	"github.com/berth-dev/berth/api"
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/images"
	"google.golang.org/protobuf/types/known/emptypb"
)

type namespacesService struct {
	apiv1.UnimplementedNamespacesServer
	d *Daemon
}

// namespace returns the request's namespace, validated.
func namespace(ctx context.Context) (string, error) {
	ns := api.NamespaceFromIncoming(ctx)
	if err := images.ValidateNamespace(ns); err != nil {
		return "", toStatus(err)
	}
	return ns, nil
}

// List serves the Namespaces.List RPC.
func (s *namespacesService) List(context.Context, *emptypb.Empty) (*apiv1.ListNamespacesResponse, error) {
	nss, err := s.d.db.Namespaces()
	if err != nil {
		return nil, toStatus(err)
	}
	return &apiv1.ListNamespacesResponse{Namespaces: nss}, nil
}

// Create serves the Namespaces.Create RPC.
func (s *namespacesService) Create(_ context.Context, r *apiv1.CreateNamespaceRequest) (*emptypb.Empty, error) {
	if err := s.d.db.CreateNamespace(r.GetName()); err != nil {
		return nil, toStatus(err)
	}
	s.d.events.publish(r.GetName(), "/namespaces/create", nil)
	return &emptypb.Empty{}, nil
}

// Delete serves the Namespaces.Delete RPC.
func (s *namespacesService) Delete(_ context.Context, r *apiv1.DeleteNamespaceRequest) (*emptypb.Empty, error) {
	if err := s.d.db.DeleteNamespace(r.GetName()); err != nil {
		return nil, toStatus(err)
	}
	s.d.events.publish(r.GetName(), "/namespaces/delete", nil)
	return &emptypb.Empty{}, nil
}
