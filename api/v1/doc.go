// Package apiv1 is the generated Go code of Berth's v1 gRPC API (see the
// .proto files alongside; regenerate with api/generate.sh).
package apiv1
