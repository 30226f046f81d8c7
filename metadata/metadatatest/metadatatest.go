// Package metadatatest opens a metadata database over a local content
// store and an overlay snapshotter in a test's temporary directory, wired
// as berthd wires them.
package metadatatest

import (
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/overlay"
)

// Open returns the database and the stores under it; they are closed when
// the test ends.
func Open(t testing.TB) (*metadata.DB, content.Store, snapshot.Snapshotter) {
	t.Helper()
	root := t.TempDir()
	cs, err := local.NewStore(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	sn, err := overlay.New(filepath.Join(root, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := metadata.Open(filepath.Join(root, "meta.db"), cs, map[string]snapshot.Snapshotter{"overlay": sn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(); _ = sn.Close() })
	return db, cs, sn
}
