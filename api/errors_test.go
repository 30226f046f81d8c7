package api

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestErrorMappingRoundTrip checks that every errdefs kind becomes its
// gRPC code on the server side and matches the same kind again after the
// client side maps the status back.
func TestErrorMappingRoundTrip(t *testing.T) {
	for _, c := range codeOf {
		err := fmt.Errorf("get thing: %w", errdefs.New(c.kind, "precise"))
		st := ToStatus(err)
		if got := status.Code(st); got != c.code {
			t.Errorf("%v: code %v, want %v", c.kind, got, c.code)
		}
		back := FromStatus(st)
		if !errors.Is(back, c.kind) {
			t.Errorf("%v: %v does not match its kind after the round trip", c.kind, back)
		}
		if s, ok := status.FromError(back); !ok || s.Code() != c.code || s.Message() != err.Error() {
			t.Errorf("%v: status lost: %v", c.kind, s)
		}
	}
}

// TestErrorMappingSpecialCases checks the errors that are no errdefs kind.
func TestErrorMappingSpecialCases(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("pull: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("pull: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{fmt.Errorf("write: %w", syscall.ENOSPC), codes.ResourceExhausted},
		{errors.New("plain"), codes.Unknown},
		{status.Error(codes.Aborted, "already a status"), codes.Aborted},
	}
	for _, c := range cases {
		if got := status.Code(ToStatus(c.err)); got != c.code {
			t.Errorf("%v: code %v, want %v", c.err, got, c.code)
		}
	}
	if ToStatus(nil) != nil || FromStatus(nil) != nil {
		t.Error("nil is not kept")
	}
	if !errors.Is(FromStatus(status.Error(codes.Canceled, "x")), context.Canceled) {
		t.Error("Canceled does not map back to context.Canceled")
	}
	if err := FromStatus(status.Error(codes.Unknown, "x")); errdefs.Kind(err) != nil {
		t.Errorf("Unknown maps to kind %v", errdefs.Kind(err))
	}
}
