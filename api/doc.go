// Package api holds Berth's versioned gRPC API: protobuf definitions and
// generated code under api/v1, and the namespace metadata convention.
package api
