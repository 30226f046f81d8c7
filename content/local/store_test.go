package local_test

import (
	"testing"

	"github.com/berth-dev/berth/content"
	"github.com/berth-dev/berth/content/local"
	"github.com/berth-dev/berth/content/testsuite"
)

func TestLocalStore(t *testing.T) {
	testsuite.RunTestSuite(t, "local", func(root string) content.Store {
		s, err := local.NewStore(root)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
