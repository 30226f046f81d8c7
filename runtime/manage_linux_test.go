package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMergeResources(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	old := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: p(100), Reservation: p(50)},
		Pids:    &specs.LinuxPids{Limit: p(10)},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	upd := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p(200)}, CPU: &specs.LinuxCPU{Cpus: "0"}}
	got, err := mergeResources(old, upd)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Memory.Limit != 200 || got.Memory.Reservation == nil || *got.Memory.Reservation != 50 {
		t.Errorf("memory: %+v", got.Memory)
	}
	if got.CPU == nil || got.CPU.Cpus != "0" || *got.Pids.Limit != 10 || len(got.Devices) != 1 {
		t.Errorf("merged: %+v", got)
	}
	if *old.Memory.Limit != 100 {
		t.Error("merge changed the old resources")
	}
	if got, _ := mergeResources(nil, upd); got != upd {
		t.Error("merge into nothing must give the update")
	}
}
