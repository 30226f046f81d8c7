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
