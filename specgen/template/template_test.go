package template

import "testing"

func TestDefaultAndHardened(t *testing.T) {
	d := Default(false)
	if !d.Process.Terminal || !d.Root.Readonly || len(d.Process.Capabilities.Bounding) != len(DefaultCapabilities) {
		t.Errorf("Default is not runc's template: %+v", d.Process)
	}
	h := Hardened(true)
	if h.Linux.Seccomp == nil || len(h.Process.Capabilities.Bounding) != len(HardenedCapabilities) || len(h.Linux.UIDMappings) != 1 {
		t.Errorf("Hardened rootless: %+v", h.Linux)
	}
}
