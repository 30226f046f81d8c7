package cgroups

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNeedsLimits(t *testing.T) {
	devices := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, r := range []*specs.LinuxResources{nil, {}, {Devices: devices}} {
		if needsLimits(r) {
			t.Errorf("needsLimits(%+v) = true, want false", r)
		}
	}
	for _, r := range []*specs.LinuxResources{
		{Devices: devices, Pids: &specs.LinuxPids{Limit: ptr(int64(5))}},
		{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 20))}},
		{Unified: map[string]string{"memory.high": "1"}},
	} {
		if !needsLimits(r) {
			t.Errorf("needsLimits(%+v) = false, want true", r)
		}
	}
}

// TestLoadRootlessState: a rootless container may have no cgroup at all;
// its state loads, and every operation that needs a cgroup says so.
func TestLoadRootlessState(t *testing.T) {
	m, err := Load(State{Mode: Hybrid, Paths: map[string]string{}, Rootless: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Exists() {
		t.Error("Exists() on a container without cgroup")
	}
	if err := m.Freeze(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Freeze: %v", err)
	}
	if _, err := m.Pids(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Pids: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Set: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	if st := m.State(); !st.Rootless {
		t.Errorf("State lost Rootless: %+v", st)
	}
}
