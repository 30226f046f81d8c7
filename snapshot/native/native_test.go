package native_test

import (
	"testing"

	"github.com/berth-dev/berth/snapshot"
	"github.com/berth-dev/berth/snapshot/native"
	"github.com/berth-dev/berth/snapshot/testsuite"
)

func TestNative(t *testing.T) {
	testsuite.RunTestSuite(t, "native", func(root string) (snapshot.Snapshotter, error) {
		return native.New(root)
	})
}
