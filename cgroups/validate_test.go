package cgroups

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func TestValidateRejects(t *testing.T) {
	cases := map[string]*specs.LinuxResources{
		"negative limit":     {Memory: &specs.LinuxMemory{Limit: ptr(int64(-5))}},
		"swap below limit":   {Memory: &specs.LinuxMemory{Limit: ptr(int64(200 << 20)), Swap: ptr(int64(100 << 20))}},
		"swappiness":         {Memory: &specs.LinuxMemory{Swappiness: ptr(uint64(101))}},
		"shares":             {CPU: &specs.LinuxCPU{Shares: ptr(uint64(1 << 20))}},
		"quota":              {CPU: &specs.LinuxCPU{Quota: ptr(int64(10))}},
		"period":             {CPU: &specs.LinuxCPU{Period: ptr(uint64(10))}},
		"burst above quota":  {CPU: &specs.LinuxCPU{Quota: ptr(int64(10000)), Burst: ptr(uint64(20000))}},
		"idle":               {CPU: &specs.LinuxCPU{Idle: ptr(int64(2))}},
		"cpus syntax":        {CPU: &specs.LinuxCPU{Cpus: "0-x"}},
		"cpus offline":       {CPU: &specs.LinuxCPU{Cpus: "0-4095"}},
		"mems offline":       {CPU: &specs.LinuxCPU{Mems: "1000"}},
		"pids":               {Pids: &specs.LinuxPids{Limit: ptr(int64(-2))}},
		"blkio weight":       {BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(5))}},
		"device type":        {Devices: []specs.LinuxDeviceCgroup{{Type: "x", Access: "rwm"}}},
		"hugepage size":      {HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3KB", Limit: 1}}},
		"hugepage syntax":    {HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "huge", Limit: 1}}},
		"unified slash":      {Unified: map[string]string{"../memory.max": "1"}},
		"unified dotdot":     {Unified: map[string]string{"memory..max": "1"}},
		"unified no dot":     {Unified: map[string]string{"memorymax": "1"}},
		"unified procs":      {Unified: map[string]string{"cgroup.procs": "1"}},
		"rt above period":    {CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(2000)), RealtimePeriod: ptr(uint64(1000))}},
		"negative rt budget": {CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(-3))}},
	}
	for name, r := range cases {
		if err := validate(r, Hybrid); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(128 << 20)), Reservation: ptr(int64(-1)), Swappiness: ptr(uint64(0))},
		CPU:     &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(-1)), Period: ptr(uint64(100000)), Cpus: "0", Mems: "0", Idle: ptr(int64(0))},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(-1))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rw"}},
		Unified: map[string]string{"memory.high": "max"},
	}
	if err := validate(r, Unified); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{Legacy, Hybrid} {
		if err := validate(r, mode); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("unified keys on a %s host: %v", mode, err)
		}
	}
	r.Unified = nil
	if err := validate(r, Hybrid); err != nil {
		t.Fatal(err)
	}
	rt := &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(1000)), RealtimePeriod: ptr(uint64(10000))}}
	if err := validate(rt, Unified); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("realtime on v2: %v", err)
	}
	if err := validate(&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr(int64(1 << 20))}}, Unified); !errors.Is(err, ErrInvalid) {
		t.Fatalf("swap without a memory limit on v2: %v", err)
	}
}

func TestDeviceRule(t *testing.T) {
	cases := map[string]specs.LinuxDeviceCgroup{
		"a *:* rwm": {Allow: false, Access: "rwm"},
		"c 1:3 rw":  {Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(3)), Access: "rw"},
		"b 8:* m":   {Type: "b", Major: ptr(int64(8)), Minor: ptr(int64(-1)), Access: "m"},
		"c *:* rwm": {Type: "c"},
		// Access is a set, as runc reads it: any order, repeats, other
		// letters ignored.
		"c 1:11 rw": {Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: "rwa"},
		"c 1:5 rwm": {Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(5)), Access: "mwrr"},
	}
	for want, r := range cases {
		if got := deviceRule(r); got != want {
			t.Errorf("deviceRule = %q, want %q", got, want)
		}
	}
}
