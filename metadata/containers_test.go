package metadata_test

import (
	"testing"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/containertest"
	"github.com/berth-dev/berth/metadata/metadatatest"
)

// TestContainerStoreConformance runs the container store suite against
// the bbolt-backed store.
func TestContainerStoreConformance(t *testing.T) {
	containertest.RunTestSuite(t, "bbolt", func(t *testing.T) metadata.ContainerStore {
		db, _, _ := metadatatest.Open(t)
		return db.Containers()
	})
}
