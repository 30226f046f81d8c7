package archive

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/berth-dev/berth/mount"
)

// ApplyToMounts unpacks a layer into the active snapshot described by
// mounts, taking the fastest safe path: straight into an overlay's upper
// directory with overlay whiteouts, straight into a read-write bind
// mount's source with whiteouts applied by deletion, or otherwise through
// a temporary mount. opts.Whiteouts is chosen here.
func ApplyToMounts(ctx context.Context, mounts []mount.Mount, r io.Reader, opts ApplyOptions) (int64, error) {
	if len(mounts) == 1 {
		m := mounts[0]
		if m.Type == "overlay" {
			for _, o := range m.Options {
				if upper, ok := strings.CutPrefix(o, "upperdir="); ok {
					opts.Whiteouts = WhiteoutOverlay
					return Apply(ctx, upper, r, opts)
				}
			}
		}
		isBind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		if isBind && !slices.Contains(m.Options, "ro") {
			opts.Whiteouts = WhiteoutDelete
			return Apply(ctx, m.Source, r, opts)
		}
	}
	dir, err := os.MkdirTemp("", "berth-apply-")
	if err != nil {
		return 0, fmt.Errorf("apply layer: %w", err)
	}
	defer func() { _ = os.Remove(dir) }()
	if err := mount.All(mounts, dir); err != nil {
		return 0, fmt.Errorf("apply layer: %w", err)
	}
	opts.Whiteouts = WhiteoutDelete
	n, err := Apply(ctx, dir, r, opts)
	if uerr := mount.UnmountAll(dir); uerr != nil && err == nil {
		err = fmt.Errorf("apply layer: %w", uerr)
	}
	return n, err
}
