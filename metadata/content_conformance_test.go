package metadata_test

import (
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/content/testsuite"
	"github.com/berth-dev/berth/metadata"
)

func TestNamespacedContentConformance(t *testing.T) {
	testsuite.RunTestSuite(t, "namespaced", func(root string) content.Store {
		cs, err := local.NewStore(filepath.Join(root, "content"))
		if err != nil {
			t.Fatal(err)
		}
		db, err := metadata.Open(filepath.Join(root, "meta.db"), cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db.NamespacedContent("default")
	})
}
