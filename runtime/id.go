package runtime

import (
	"fmt"
	"regexp"
)

// idPattern is the container ID grammar runc accepts: it cannot express a
// path, so an ID is always safe to join below the state root.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_+\-.]*$`)

// ValidateID checks that id can name a container.
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: container id must not be empty", ErrInvalidID)
	}
	if len(id) > 1024 {
		return fmt.Errorf("%w: container id is longer than 1024 characters", ErrInvalidID)
	}
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: %q (use letters, digits, _ + - . and start with a letter or digit)", ErrInvalidID, id)
	}
	return nil
}
