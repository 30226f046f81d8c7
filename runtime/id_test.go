package runtime

import (
	"errors"
	"testing"
)

func TestValidateID(t *testing.T) {
	good := []string{"a", "abc", "A-1_2+3.4", "0abc", "berth-test.1"}
	bad := []string{"", ".", "..", "../x", "a/b", "/abs", "-a", ".hidden", "a b", "a\x00b", "a\nb", "ü"}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}
