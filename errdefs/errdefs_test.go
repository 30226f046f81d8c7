package errdefs

import (
	"errors"
	"fmt"
	"testing"
)

// TestNewMatchesKind checks that a package sentinel made with New keeps
// its message and matches its kind, also when wrapped.
func TestNewMatchesKind(t *testing.T) {
	errBlob := New(ErrNotFound, "content: not found")
	err := fmt.Errorf("read sha256:x: %w", errBlob)
	if errBlob.Error() != "content: not found" || !errors.Is(err, ErrNotFound) || !errors.Is(err, errBlob) || errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("sentinel %q does not behave", err)
	}
	if Kind(err) != ErrNotFound {
		t.Fatalf("Kind = %v", Kind(err))
	}
}

// TestKindOrder checks that an error of two kinds takes the earlier one
// in the list (a corrupt blob that is also oversized is data loss), and
// that an error of no kind has none.
func TestKindOrder(t *testing.T) {
	err := fmt.Errorf("fetch: %w (%w)", New(ErrDataLoss, "corrupt"), New(ErrInvalidArgument, "bad size"))
	if Kind(err) != ErrDataLoss {
		t.Fatalf("Kind = %v, want data loss", Kind(err))
	}
	if Kind(errors.New("plain")) != nil {
		t.Fatal("a plain error has a kind")
	}
}
