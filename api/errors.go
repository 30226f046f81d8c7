package api

import (
	"context"
	"errors"
	"syscall"

	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codeOf pairs each errdefs kind with its gRPC code, both ways.
var codeOf = []struct {
	kind error
	code codes.Code
}{
	{errdefs.ErrNotFound, codes.NotFound},
	{errdefs.ErrAlreadyExists, codes.AlreadyExists},
	{errdefs.ErrInvalidArgument, codes.InvalidArgument},
	{errdefs.ErrFailedPrecondition, codes.FailedPrecondition},
	{errdefs.ErrUnavailable, codes.Unavailable},
	{errdefs.ErrConflict, codes.Aborted},
	{errdefs.ErrPermissionDenied, codes.PermissionDenied},
	{errdefs.ErrUnauthenticated, codes.Unauthenticated},
	{errdefs.ErrDataLoss, codes.DataLoss},
	{errdefs.ErrResourceExhausted, codes.ResourceExhausted},
	{errdefs.ErrNotImplemented, codes.Unimplemented},
}

// ToStatus converts err to a gRPC status error whose code is err's
// errdefs kind (a full disk is ResourceExhausted, a cancelled context
// Canceled); the message is err's text.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch kind := errdefs.Kind(err); {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		code = codes.ResourceExhausted
	case kind != nil:
		for _, c := range codeOf {
			if c.kind == kind {
				code = c.code
			}
		}
	}
	return status.Error(code, err.Error())
}

// FromStatus converts a gRPC status error back into an error that matches
// the errdefs kind of its code (and context.Canceled or DeadlineExceeded);
// status.FromError still recovers the status from the result.
func FromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return err
	}
	var kind error
	switch st.Code() {
	case codes.Canceled:
		kind = context.Canceled
	case codes.DeadlineExceeded:
		kind = context.DeadlineExceeded
	default:
		for _, c := range codeOf {
			if c.code == st.Code() {
				kind = c.kind
			}
		}
	}
	if kind == nil {
		return err
	}
	return &remoteError{st: st, kind: kind}
}

// remoteError is a status received from the daemon, matching its kind.
type remoteError struct {
	st   *status.Status
	kind error
}

// Error implements error with the status's own text.
func (e *remoteError) Error() string { return e.st.Err().Error() }

// GRPCStatus lets status.FromError recover the status.
func (e *remoteError) GRPCStatus() *status.Status { return e.st }

// Unwrap returns the errdefs kind.
func (e *remoteError) Unwrap() error { return e.kind }

// UnaryServerErrors is the server interceptor that maps handler errors
// with ToStatus.
func UnaryServerErrors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	return resp, ToStatus(err)
}

// StreamServerErrors is the stream server interceptor that maps handler
// errors with ToStatus.
func StreamServerErrors(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return ToStatus(h(srv, ss))
}

// UnaryClientErrors is the client interceptor that maps status errors
// back with FromStatus.
func UnaryClientErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return FromStatus(invoker(ctx, method, req, reply, cc, opts...))
}

// StreamClientErrors is the stream client interceptor that maps status
// errors (of the call and of every receive) back with FromStatus.
func StreamClientErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, FromStatus(err)
	}
	return &clientStream{ClientStream: cs}, nil
}

type clientStream struct{ grpc.ClientStream }

// RecvMsg implements grpc.ClientStream.
func (s *clientStream) RecvMsg(m any) error { return FromStatus(s.ClientStream.RecvMsg(m)) }

// SendMsg implements grpc.ClientStream.
func (s *clientStream) SendMsg(m any) error { return FromStatus(s.ClientStream.SendMsg(m)) }

// CloseSend implements grpc.ClientStream.
func (s *clientStream) CloseSend() error { return FromStatus(s.ClientStream.CloseSend()) }
