package images_test

import (
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/testsuite"
	"github.com/berth-dev/berth/metadata"
)

// TestMetadataStoreConformance runs the images.Store suite against the
// bbolt-backed store berthd uses.
func TestMetadataStoreConformance(t *testing.T) {
	testsuite.RunTestSuite(t, "metadata", func(t *testing.T) (images.Store, func(string) content.Store) {
		root := t.TempDir()
		cs, err := local.NewStore(filepath.Join(root, "content"))
		if err != nil {
			t.Fatal(err)
		}
		db, err := metadata.Open(filepath.Join(root, "meta.db"), cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return images.MetadataStore(db), db.NamespacedContent
	})
}
