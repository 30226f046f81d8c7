package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExplain(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unauthenticated, "resolve 127.0.0.1:5000/a/b:c: HTTP 401 UNAUTHORIZED"), "run berth login 127.0.0.1:5000"},
		{status.Error(codes.Unavailable, "registry unreachable: 127.0.0.1:9: connection refused"), "insecure"},
		{status.Error(codes.NotFound, "resolve x: HTTP 404 MANIFEST_UNKNOWN"), "manifest unknown"},
		{status.Error(codes.FailedPrecondition, "no matching platform for linux/s390x (available: linux/amd64)"), "--platform"},
		{status.Error(codes.ResourceExhausted, "write: no space left on device"), "disk full"},
		{status.Error(codes.DataLoss, "blob does not match its digest"), "nothing was stored"},
		{status.Error(codes.InvalidArgument, "fetch sha256:x: unacceptable blob size: declared size 9 exceeds the 8-byte limit for a layer"), "registry.max_layer_size_mb"},
		{fmt.Errorf("image x: %w", errdefs.ErrNotFound), "berth images lists"}, // a kind, not a status
		{errors.New("plain\nmulti line"), "plain multi line"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial unix /x.sock: connect: no such file or directory"`), "is berthd running"},
		{status.Error(codes.Unavailable, "error reading from server: EOF"), "is berthd running"},
	}
	for _, c := range cases {
		got := Explain(c.err)
		if !strings.Contains(got, c.want) || strings.Contains(got, "\n") {
			t.Errorf("Explain(%v) = %q, want it to mention %q on one line", c.err, got, c.want)
		}
	}
}

// TestExplainServerUnavailable: berthd's own answers of kind unavailable
// are not about reaching berthd.
func TestExplainServerUnavailable(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Unavailable, "container 0123456789ab did not exit within 10s of SIGKILL"),
		fmt.Errorf("%w: shim: stream ended before the process", errdefs.ErrUnavailable),
	} {
		if got := Explain(err); strings.Contains(got, "berthd") {
			t.Errorf("Explain(%v) = %q, blames the connection to berthd", err, got)
		}
	}
}

// TestExplainNotFoundHints: the hint to list images goes only with what
// names an image.
func TestExplainNotFoundHints(t *testing.T) {
	err := fmt.Errorf("%w: container ca is not connected to network n2", errdefs.ErrNotFound)
	if got := Explain(err); strings.Contains(got, "berth images") {
		t.Errorf("Explain(%v) = %q, points at images", err, got)
	}
}

func TestHumanFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 4_860_000: "4.86MB", 1_234_567_890: "1.23GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q want %q", n, got, want)
		}
	}
	if got := humanDuration(time.Now().Add(-3 * time.Hour)); got != "3 hours ago" {
		t.Errorf("humanDuration: %q", got)
	}
	if got := shortID("sha256:0123456789abcdef"); got != "0123456789ab" {
		t.Errorf("shortID: %q", got)
	}
}

func TestPullRejectsBadReferenceWithoutDaemon(t *testing.T) {
	root := NewRoot()
	root.SetArgs([]string{"--address", "/nonexistent/berth-test.sock", "pull", "UPPER/Case"})
	root.SetOut(&strings.Builder{})
	err := root.Execute()
	if err == nil || !strings.Contains(Explain(err), "invalid reference") {
		t.Fatalf("want invalid reference, got %v", err)
	}
	root = NewRoot()
	root.SetArgs([]string{"--address", "/nonexistent/berth-test.sock", "images"})
	err = root.Execute()
	if err == nil || !strings.Contains(Explain(err), "is berthd running") {
		t.Fatalf("want daemon advice, got %v", err)
	}
}
