package images_test

import (
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/testsuite"
	"github.com/berth-dev/berth/metadata/metadatatest"
)

// TestMetadataStoreConformance runs the images.Store suite against the
// bbolt-backed store berthd uses.
func TestMetadataStoreConformance(t *testing.T) {
	testsuite.RunTestSuite(t, "metadata", func(t *testing.T) (images.Store, func(string) content.Store) {
		db, _, _ := metadatatest.Open(t)
		return images.MetadataStore(db), db.NamespacedContent
	})
}
