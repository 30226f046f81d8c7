package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"

	"github.com/berth-dev/berth/errdefs"
)

// statusOf pairs each errdefs kind with the HTTP status Docker gives it.
var statusOf = []struct {
	kind   error
	status int
}{
	{errdefs.ErrNotFound, http.StatusNotFound},
	{errdefs.ErrAlreadyExists, http.StatusConflict},
	{errdefs.ErrConflict, http.StatusConflict},
	{errdefs.ErrFailedPrecondition, http.StatusConflict},
	{errdefs.ErrInvalidArgument, http.StatusBadRequest},
	{errdefs.ErrUnavailable, http.StatusServiceUnavailable},
	{errdefs.ErrPermissionDenied, http.StatusForbidden},
	{errdefs.ErrUnauthenticated, http.StatusUnauthorized},
	{errdefs.ErrResourceExhausted, http.StatusInsufficientStorage},
	{errdefs.ErrNotImplemented, http.StatusNotImplemented},
	{errdefs.ErrDataLoss, http.StatusInternalServerError},
}

// HTTPStatus is the status err's errdefs kind maps to; an error of no
// kind is 500.
func HTTPStatus(err error) int {
	switch kind := errdefs.Kind(err); {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return http.StatusInsufficientStorage
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case kind != nil:
		for _, s := range statusOf {
			if s.kind == kind {
				return s.status
			}
		}
	}
	return http.StatusInternalServerError
}

// errorResponse is Docker's error body.
type errorResponse struct {
	Message string `json:"message"`
}

// writeError answers err as Docker does: its status and {"message": ...}.
func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, HTTPStatus(err), errorResponse{Message: err.Error()})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads r's body into v; a malformed body is invalid input.
func decodeJSON(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<20))
	if err := dec.Decode(v); err != nil {
		return errdefs.New(errdefs.ErrInvalidArgument, "malformed JSON body: "+err.Error())
	}
	return nil
}

// jsonEncode writes v as one JSON line.
func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// notImplemented is a 501 with msg.
func notImplemented(msg string) error { return errdefs.New(errdefs.ErrNotImplemented, msg) }

// notFound is a 404 with Docker's plain message.
func notFound(format string, a ...any) error {
	return errdefs.New(errdefs.ErrNotFound, fmt.Sprintf(format, a...))
}
