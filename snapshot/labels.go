package snapshot

import (
	"fmt"
	"maps"
	"strings"
)

// ApplyLabelUpdate computes labels after an Update: with no fieldpaths
// (or "labels") the update's labels replace the current ones; with
// "labels.<key>" only that key is set, or removed when the update lacks
// it. Other fieldpaths are refused with ErrInvalid.
func ApplyLabelUpdate(cur, update map[string]string, fieldpaths []string) (map[string]string, error) {
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
			return nil, fmt.Errorf("update field %q: only labels can be updated: %w", fp, ErrInvalid)
		}
	}
	return out, nil
}

// String names a kind.
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindActive:
		return "active"
	case KindCommitted:
		return "committed"
	default:
		return "unknown"
	}
}
