// Package api holds Berth's versioned gRPC API: protobuf definitions and
// generated code under api/v1, the namespace metadata convention, and the
// mapping between errdefs kinds and gRPC status codes (both ways).
package api
