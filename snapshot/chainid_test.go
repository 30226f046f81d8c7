package snapshot_test

import (
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"

	"github.com/berth-dev/berth/snapshot"
)

func TestChainID(t *testing.T) {
	// Values from image-spec's identity test vectors.
	d1 := digest.Digest("sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4")
	d2 := digest.Digest("sha256:18d1b7ec8cf27ea8c9ff2e28fd3ab2f4af2f4b2ebc3b0a9daed1f9ea0d4f2d09")
	if got := snapshot.ChainID([]digest.Digest{d1}); got != d1 {
		t.Fatalf("single layer chain id %s", got)
	}
	want := digest.FromString(d1.String() + " " + d2.String())
	if got := snapshot.ChainID([]digest.Digest{d1, d2}); got != want {
		t.Fatalf("chain id %s, want %s", got, want)
	}
	ids := snapshot.ChainIDs([]digest.Digest{d1, d2})
	if len(ids) != 2 || ids[0] != d1 || ids[1] != want {
		t.Fatalf("chain ids %v", ids)
	}
	if ref := identity.ChainID([]digest.Digest{d1, d2}); ref != want {
		t.Fatalf("image-spec says %s", ref)
	}
	if snapshot.ChainID(nil) != "" {
		t.Fatal("empty chain id")
	}
}
