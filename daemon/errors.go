package daemon

import (
	"context"
	"errors"
	"syscall"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// toStatus maps errors to gRPC status codes the CLI turns into advice.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, distribution.ErrUnauthorized):
		code = codes.Unauthenticated
	case errors.Is(err, distribution.ErrUnreachable):
		code = codes.Unavailable
	case errors.Is(err, distribution.ErrNoMatchingPlatform):
		code = codes.FailedPrecondition
	case errors.Is(err, images.ErrNotFound), errors.Is(err, content.ErrNotFound),
		errors.Is(err, distribution.ErrNotFound), errors.Is(err, snapshot.ErrNotFound),
		errors.Is(err, metadata.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, images.ErrAlreadyExists), errors.Is(err, snapshot.ErrAlreadyExists),
		errors.Is(err, metadata.ErrAlreadyExists):
		code = codes.AlreadyExists
	case errors.Is(err, distribution.ErrInvalidReference),
		errors.Is(err, images.ErrInvalid), errors.Is(err, distribution.ErrSchema1),
		errors.Is(err, distribution.ErrUnsupportedMedia), errors.Is(err, archive.ErrUnsafePath),
		errors.Is(err, errBadArchive), errors.Is(err, metadata.ErrInvalidArgument),
		errors.Is(err, content.ErrInvalidArgument):
		code = codes.InvalidArgument
	case errors.Is(err, distribution.ErrCorruptBlob), errors.Is(err, images.ErrDiffIDMismatch):
		code = codes.DataLoss
	case errors.Is(err, distribution.ErrBadSize):
		code = codes.InvalidArgument
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		code = codes.ResourceExhausted
	case errors.Is(err, metadata.ErrNotEmpty):
		code = codes.FailedPrecondition
	}
	return status.Error(code, err.Error())
}
