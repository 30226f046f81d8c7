// Package labels applies label updates the way every Berth store does:
// an Update's fieldpaths name which labels change.
package labels

import (
	"fmt"
	"maps"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// ErrNotLabel is wrapped when a fieldpath names something other than
// labels; it matches errdefs.ErrInvalidArgument.
var ErrNotLabel = errdefs.New(errdefs.ErrInvalidArgument, "only labels can be updated")

// Apply computes the labels after an update: with no fieldpaths (or
// "labels") the update's labels replace the current ones; with
// "labels.<key>" only that key is set, or removed when the update lacks it.
func Apply(cur, update map[string]string, fieldpaths []string) (map[string]string, error) {
	if len(fieldpaths) == 0 {
		return maps.Clone(update), nil
	}
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for _, fp := range fieldpaths {
		switch {
		case fp == "labels":
			out = maps.Clone(update)
			if out == nil {
				out = map[string]string{}
			}
		case strings.HasPrefix(fp, "labels."):
			k := strings.TrimPrefix(fp, "labels.")
			if v, ok := update[k]; ok {
				out[k] = v
			} else {
				delete(out, k)
			}
		default:
			return nil, fmt.Errorf("update field %q: %w", fp, ErrNotLabel)
		}
	}
	return out, nil
}
