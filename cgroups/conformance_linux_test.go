package cgroups_test

import (
	"testing"

	"github.com/berth-dev/berth/cgroups"
	"github.com/berth-dev/berth/cgroups/cgroupstest"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestConformance runs the manager suite on the host's own layout (v1 or
// hybrid here, unified on a pure cgroup v2 host).
func TestConformance(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	cgroupstest.Run(t, cgroups.New)
}

// TestUnifiedPrivateMount runs the unified manager on a private cgroup2
// mount, so that it is tested on a hybrid host too: the suite, then what
// only cgroup2 offers. Controllers bound to v1 hierarchies are absent
// there.
func TestUnifiedPrivateMount(t *testing.T) {
	cgroupstest.InPrivateUnified(t, func(t *testing.T, root string) {
		newManager := func(cfg cgroups.Config) (cgroups.Manager, error) {
			cfg.Root = root
			return cgroups.New(cfg)
		}
		t.Run("Conformance", func(t *testing.T) { cgroupstest.Run(t, newManager) })
		t.Run("UnifiedOnly", func(t *testing.T) { testUnifiedOnly(t, root, newManager) })
	})
}
