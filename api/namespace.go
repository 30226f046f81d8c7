package api

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// NamespaceKey is the gRPC metadata key that carries the namespace.
const NamespaceKey = "berth-namespace"

// DefaultNamespace is used when a request names none.
const DefaultNamespace = "default"

// WithNamespace returns an outgoing context carrying ns.
func WithNamespace(ctx context.Context, ns string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, NamespaceKey, ns)
}

// NamespaceFromIncoming returns the namespace of an incoming request, or
// DefaultNamespace.
func NamespaceFromIncoming(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return DefaultNamespace
	}
	if v := md.Get(NamespaceKey); len(v) > 0 && v[0] != "" {
		return v[len(v)-1]
	}
	return DefaultNamespace
}
