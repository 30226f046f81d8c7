package overlay_test

import (
	"testing"

	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/overlay"
	"github.com/berth-dev/berth/snapshot/testsuite"
)

func TestOverlay(t *testing.T) {
	testsuite.RunTestSuite(t, "overlay", func(root string) (snapshot.Snapshotter, error) {
		return overlay.New(root)
	})
}
