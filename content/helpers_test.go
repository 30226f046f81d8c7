package content_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
)

func TestWriteBlobAndOpenWriter(t *testing.T) {
	ctx := context.Background()
	s, err := local.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("helper blob")
	dgst := digest.FromBytes(data)
	// A partial ingest is resumed from a seekable reader.
	w, _ := s.Writer(ctx, content.WriterOpts{Ref: "r", Expected: dgst})
	_, _ = w.Write(data[:4])
	// While it is open, OpenWriter waits; it gives up when ctx ends.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := content.OpenWriter(tctx, s, content.WriterOpts{Ref: "r"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenWriter on a held ref: %v", err)
	}
	cancel()
	_ = w.Close()
	if err := content.WriteBlob(ctx, s, "r", bytes.NewReader(data), int64(len(data)), dgst, nil); err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{Digest: dgst, Size: int64(len(data))}
	got, err := content.ReadBlob(ctx, s, desc, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadBlob %q %v", got, err)
	}
	// Over the cap by the descriptor, or by the stored size when the
	// descriptor understates it, is refused.
	if _, err := content.ReadBlob(ctx, s, desc, int64(len(data))-1); !errors.Is(err, content.ErrTooLarge) {
		t.Fatalf("ReadBlob over the cap: %v", err)
	}
	if _, err := content.ReadBlob(ctx, s, ocispec.Descriptor{Digest: dgst, Size: 1}, 2); !errors.Is(err, content.ErrTooLarge) {
		t.Fatalf("ReadBlob with an understated size: %v", err)
	}
	// Writing it again is not an error.
	if err := content.WriteBlob(ctx, s, "r2", bytes.NewReader(data), int64(len(data)), dgst, nil); err != nil {
		t.Fatal(err)
	}
	// A wrong digest is.
	if err := content.WriteBlob(ctx, s, "r3", bytes.NewReader([]byte("evil")), 4, digest.FromString("good"), nil); !errors.Is(err, content.ErrDigestMismatch) {
		t.Fatalf("corrupt blob: %v", err)
	}
}
