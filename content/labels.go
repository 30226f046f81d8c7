package content

import (
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/labels"
)

// ApplyLabelUpdate computes the labels after an Update (see
// labels.Apply); a fieldpath other than labels is ErrInvalidArgument.
func ApplyLabelUpdate(cur, update map[string]string, fieldpaths []string) (map[string]string, error) {
	out, err := labels.Apply(cur, update, fieldpaths)
	if errors.Is(err, labels.ErrNotLabel) {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalidArgument)
	}
	return out, err
}
