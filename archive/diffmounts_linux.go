package archive

import (
	"context"
	"io"
	"strings"

	"github.com/berth-dev/berth/mount"
)

// DiffMounts writes the layer tar of the changes upper makes over lower,
// both given as snapshot mounts (lower may be empty, for a base layer).
// An overlay upper is read straight from its upper directory; anything
// else is mounted read-only and compared tree to tree.
func DiffMounts(ctx context.Context, w io.Writer, lower, upper []mount.Mount) error {
	if len(upper) == 1 && upper[0].Type == "overlay" {
		for _, o := range upper[0].Options {
			if dir, ok := strings.CutPrefix(o, "upperdir="); ok {
				return WriteOverlayDiff(ctx, w, dir)
			}
		}
	}
	return mount.WithTempMount(readOnly(upper), func(upperDir string) error {
		if len(lower) == 0 {
			return WriteDiff(ctx, w, "", upperDir)
		}
		return mount.WithTempMount(readOnly(lower), func(lowerDir string) error {
			return WriteDiff(ctx, w, lowerDir, upperDir)
		})
	})
}

// readOnly returns the mounts with "ro" added.
func readOnly(mounts []mount.Mount) []mount.Mount {
	out := make([]mount.Mount, len(mounts))
	for i, m := range mounts {
		m.Options = append(append([]string{}, m.Options...), "ro")
		out[i] = m
	}
	return out
}
