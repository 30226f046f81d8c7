package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSetRestoresOnKernelRefusal makes a write fail half-way (a missing
// file stands in for a value the kernel refuses) and checks that what was
// written before it is put back. Values have equal lengths because the
// fake files are plain files that are not truncated on write.
func TestSetRestoresOnKernelRefusal(t *testing.T) {
	m := fakeV1(t, map[string]map[string]string{
		"memory": {"memory.limit_in_bytes": "1000", "memory.usage_in_bytes": "1"},
		"cpu":    {"cpu.shares": "512", "cpu.rt_period_us": "100000"},
		"blkio":  {"blkio.throttle.read_bps_device": "8:0 50"},
	})
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(2000))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(256)), RealtimeRuntime: ptr(int64(5))},
	}
	if err := m.Set(r); err == nil {
		t.Fatal("Set succeeded without cpu.rt_runtime_us")
	}
	if got := readBack(t, m.paths["memory"], "memory.limit_in_bytes"); got != "1000" {
		t.Errorf("memory.limit_in_bytes = %q, want the old 1000", got)
	}
	if got := readBack(t, m.paths["cpu"], "cpu.shares"); got != "512" {
		t.Errorf("cpu.shares = %q, want the old 512", got)
	}
}

func TestSavedDevices(t *testing.T) {
	d := fakeDir(t, map[string]string{"f": "8:0 50\n8:16 7\n"})
	dev := func(maj, min int64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1}
	}
	got := savedDevices(d, "f", []specs.LinuxThrottleDevice{dev(8, 16), dev(254, 0)})
	want := []saved{{d, "f", "8:16 7"}, {d, "f", "254:0 0"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSetV2RestoresOnFailure(t *testing.T) {
	d := fakeDir(t, map[string]string{"memory.max": "1000", "cpu.weight": "100"})
	m := &manager{mode: Unified, paths: map[string]string{"": d}}
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(2000))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(2048))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(5))}, // no pids.max: fails
	}
	if err := m.Set(r); err == nil {
		t.Fatal("Set succeeded without pids.max")
	}
	for f, want := range map[string]string{"memory.max": "1000", "cpu.weight": "100"} {
		if got := readBack(t, d, f); got != want {
			t.Errorf("%s = %q, want the old %q", f, got, want)
		}
	}
}

func TestSavedIOMax(t *testing.T) {
	d := fakeDir(t, map[string]string{"io.max": "8:0 rbps=100 wbps=max riops=max wiops=max\n"})
	dev := func(maj, min int64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1}
	}
	got := savedIOMax(d, &specs.LinuxBlockIO{
		ThrottleReadBpsDevice:  []specs.LinuxThrottleDevice{dev(8, 0)},
		ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{dev(8, 0), dev(254, 0)},
	})
	want := []saved{
		{d, "io.max", "8:0 rbps=100 wbps=max riops=max wiops=max"},
		{d, "io.max", "254:0 rbps=max wbps=max riops=max wiops=max"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v", got, want)
	}
}
