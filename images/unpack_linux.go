package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/manifest"
	"github.com/berth-dev/berth/mount"
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
	// ReadAhead bounds the decompressed bytes of the next layer buffered
	// during a pull (default DefaultReadAhead; negative turns it off).
	ReadAhead int
}

// DefaultReadAhead is how many decompressed bytes a pull may buffer ahead
// of extraction (mostly the next layer's, decompressed while the current
// one is extracted).
const DefaultReadAhead = 16 << 20

// UnpackLayer unpacks layer (with uncompressed digest diffID) on top of the
// committed snapshot parent ("" for the bottom layer) and commits the
// result under chainID. An existing chainID is kept as is. The layer's
// uncompressed stream is hashed while it is extracted; a mismatch with
// diffID fails with ErrDiffIDMismatch and leaves no snapshot behind.
func (u *Unpacker) UnpackLayer(ctx context.Context, layer ocispec.Descriptor, diffID, parent, chainID digest.Digest) error {
	return u.unpackLayer(ctx, layer, diffID, parent, chainID, nil)
}

// prefetch starts decompressing layer ahead of its unpack, unless its
// snapshot exists or read-ahead is off; it returns nil then.
func (u *Unpacker) prefetch(ctx context.Context, layer ocispec.Descriptor, diffID, chainID digest.Digest, b *aheadBudget) *aheadReader {
	if b == nil || manifest.IsForeignLayer(layer.MediaType) {
		return nil
	}
	if _, err := u.Snapshotter.Stat(ctx, chainID.String()); err == nil {
		return nil
	}
	a, err := startAhead(ctx, u.Content, layer, diffID.Algorithm(), b)
	if err != nil {
		return nil // unpackLayer reports it
	}
	return a
}

// budget returns the read-ahead budget of one pull, nil when turned off.
func (u *Unpacker) budget() *aheadBudget {
	max := u.ReadAhead
	if max == 0 {
		max = DefaultReadAhead
	}
	if max < 0 {
		return nil
	}
	return newAheadBudget(max)
}

// unpackLayer is UnpackLayer with an optional stream already being
// decompressed ahead (it is consumed and closed).
func (u *Unpacker) unpackLayer(ctx context.Context, layer ocispec.Descriptor, diffID, parent, chainID digest.Digest, src *aheadReader) error {
	if src != nil {
		defer src.Close()
	}
	if _, err := u.Snapshotter.Stat(ctx, chainID.String()); err == nil {
		return nil
	}
	if manifest.IsForeignLayer(layer.MediaType) {
		if _, err := u.Content.Info(ctx, layer.Digest); errors.Is(err, content.ErrNotFound) {
			return fmt.Errorf("layer %s: %w: not downloaded: allow foreign layers to pull it (berth pull --allow-foreign-layers, or allow_foreign_layers in berthd's config)", layer.Digest, distribution.ErrForeignLayer)
		}
	}
	if src == nil {
		var err error
		if src, err = startAhead(ctx, u.Content, layer, diffID.Algorithm(), newAheadBudget(aheadFloor)); err != nil {
			return err
		}
		defer src.Close()
	}
	err := u.extract(ctx, layer, diffID, parent, chainID, src, false)
	if err == nil || ctx.Err() != nil || errors.Is(err, archive.ErrUnsafePath) || errors.Is(err, ErrDiffIDMismatch) || !errors.Is(err, errNeedsMount) {
		return err
	}
	// Extracting into an overlay upper directory cannot see lower layers
	// (a hard link to a file of a lower layer, say): redo it through a
	// real overlay mount, as slower unpackers always do.
	src.Close()
	src, err = startAhead(ctx, u.Content, layer, diffID.Algorithm(), newAheadBudget(aheadFloor))
	if err != nil {
		return err
	}
	defer src.Close()
	return u.extract(ctx, layer, diffID, parent, chainID, src, true)
}

// errNeedsMount marks an upper-directory extraction that may succeed
// through a mount.
var errNeedsMount = errors.New("layer needs its lower layers visible")

// extract unpacks src into a new snapshot on parent and commits it as
// chainID; on failure the snapshot is removed. With viaMount, it extracts
// through the snapshot's mounts instead of into its directory.
func (u *Unpacker) extract(ctx context.Context, layer ocispec.Descriptor, diffID, parent, chainID digest.Digest, src *aheadReader, viaMount bool) (retErr error) {
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
	var (
		dir  string
		opts archive.ApplyOptions
	)
	if viaMount {
		if dir, err = os.MkdirTemp("", "berth-unpack-"); err != nil {
			return fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
		defer os.Remove(dir)
		if err := mount.All(mounts, dir); err != nil {
			return fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
		defer func() {
			if err := mount.UnmountAll(dir); err != nil && retErr == nil {
				retErr = fmt.Errorf("layer %s: %w", layer.Digest, err)
			}
		}()
		opts = u.Apply
		opts.Whiteouts = archive.WhiteoutDelete
	} else if dir, opts, err = u.applyTarget(mounts); err != nil {
		return fmt.Errorf("layer %s: %w: %v", layer.Digest, errNeedsMount, err)
	}
	if _, err := archive.Apply(ctx, dir, src, opts); err != nil {
		if !viaMount && opts.Whiteouts == archive.WhiteoutOverlay {
			err = fmt.Errorf("%w: %w", errNeedsMount, err)
		}
		return fmt.Errorf("unpack layer %s: %w", layer.Digest, err)
	}
	// The tar may carry padding after its end marker; it counts too.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return fmt.Errorf("read layer %s: %w", layer.Digest, err)
	}
	if got := src.DiffID(); got != diffID {
		return fmt.Errorf("layer %s: %w: uncompressed digest is %s, config says %s", layer.Digest, ErrDiffIDMismatch, got, diffID)
	}
	if viaMount {
		if err := mount.UnmountAll(dir); err != nil {
			return fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
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
