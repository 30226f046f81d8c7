package dockerapi

import (
	"encoding/json"
	"testing"

	"github.com/berth-dev/berth/engine"
)

// TestFilesystemChanges: the engine's kinds go on the wire as Docker's
// numbers (0 modified, 1 added, 2 deleted), and no change is an empty
// list, not null.
func TestFilesystemChanges(t *testing.T) {
	b, err := json.Marshal(toFilesystemChanges([]engine.Change{{Path: "/etc", Kind: engine.ChangeModified},
		{Path: "/new", Kind: engine.ChangeAdded}, {Path: "/gone", Kind: engine.ChangeDeleted}}))
	if want := `[{"Kind":0,"Path":"/etc"},{"Kind":1,"Path":"/new"},{"Kind":2,"Path":"/gone"}]`; err != nil || string(b) != want {
		t.Errorf("changes: %s, %v; want %s", b, err, want)
	}
	if b, _ := json.Marshal(toFilesystemChanges(nil)); string(b) != "[]" {
		t.Errorf("no changes: %s, want []", b)
	}
}
