package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/snapshot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Unpacker unpacks layers from a content store into a snapshotter.
type Unpacker struct {
	Content     content.Store
	Snapshotter snapshot.Snapshotter
	// Apply tunes extraction; Whiteouts is chosen per mount type.
	Apply archive.ApplyOptions
}

// UnpackLayer unpacks layer (with uncompressed digest diffID) on top of the
// committed snapshot parent ("" for the bottom layer) and commits the
// result under chainID. An existing chainID is kept as is. The layer's
// uncompressed stream is hashed while it is extracted; a mismatch with
// diffID fails with ErrDiffIDMismatch and leaves no snapshot behind.
func (u *Unpacker) UnpackLayer(ctx context.Context, layer ocispec.Descriptor, diffID, parent, chainID digest.Digest) (retErr error) {
	if _, err := u.Snapshotter.Stat(ctx, chainID.String()); err == nil {
		return nil
	}
	if distribution.IsForeignLayer(layer.MediaType) {
		if _, err := u.Content.Info(ctx, layer.Digest); errors.Is(err, content.ErrNotFound) {
			return fmt.Errorf("layer %s: %w: not downloaded (allow foreign layers to pull it)", layer.Digest, distribution.ErrForeignLayer)
		}
	}
	key := "extract-" + randomID() + "-" + chainID.String()
	parentKey := ""
	if parent != "" {
		parentKey = parent.String()
	}
	mounts, err := u.Snapshotter.Prepare(ctx, key, parentKey, map[string]string{"berth.io/unpack": "1"})
	if err != nil {
		return fmt.Errorf("prepare snapshot for layer %s: %w", layer.Digest, err)
	}
	defer func() {
		if retErr != nil {
			if err := u.Snapshotter.Remove(context.WithoutCancel(ctx), key); err != nil {
				retErr = fmt.Errorf("%w (and removing snapshot %s: %v)", retErr, key, err)
			}
		}
	}()
	dir, opts, err := u.applyTarget(mounts)
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	ra, err := u.Content.ReaderAt(ctx, layer.Digest)
	if err != nil {
		return fmt.Errorf("open layer %s: %w", layer.Digest, err)
	}
	defer ra.Close()
	dr, _, err := archive.Decompress(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		return fmt.Errorf("layer %s: %w", layer.Digest, err)
	}
	defer dr.Close()
	h := diffID.Algorithm().Digester()
	if !diffID.Algorithm().Available() {
		return fmt.Errorf("layer %s: %w: unsupported diff_id algorithm %q", layer.Digest, ErrInvalid, diffID.Algorithm())
	}
	tee := io.TeeReader(dr, h.Hash())
	if _, err := archive.Apply(ctx, dir, tee, opts); err != nil {
		return fmt.Errorf("unpack layer %s: %w", layer.Digest, err)
	}
	// The tar may carry padding after its end marker; hash it too.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("read layer %s: %w", layer.Digest, err)
	}
	if got := h.Digest(); got != diffID {
		return fmt.Errorf("layer %s: %w: uncompressed digest is %s, config says %s", layer.Digest, ErrDiffIDMismatch, got, diffID)
	}
	if err := u.Snapshotter.Commit(ctx, chainID.String(), key, nil); err != nil {
		if errors.Is(err, snapshot.ErrAlreadyExists) {
			return u.Snapshotter.Remove(ctx, key)
		}
		return fmt.Errorf("commit snapshot %s: %w", chainID, err)
	}
	return nil
}

// applyTarget finds the directory to extract into without mounting: the
// source of a single bind mount (copy snapshotter, or an overlay bottom
// layer), or the upperdir of an overlay mount (whiteouts in overlay form).
func (u *Unpacker) applyTarget(mounts []snapshot.Mount) (string, archive.ApplyOptions, error) {
	opts := u.Apply
	if len(mounts) != 1 {
		return "", opts, fmt.Errorf("cannot unpack into %d mounts", len(mounts))
	}
	m := mounts[0]
	switch m.Type {
	case "bind", "rbind":
		opts.Whiteouts = archive.WhiteoutDelete
		return m.Source, opts, nil
	case "overlay":
		for _, o := range m.Options {
			if up, ok := strings.CutPrefix(o, "upperdir="); ok {
				opts.Whiteouts = archive.WhiteoutOverlay
				return up, opts, nil
			}
		}
		return "", opts, fmt.Errorf("overlay mount without upperdir")
	}
	return "", opts, fmt.Errorf("cannot unpack into a %q mount", m.Type)
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
