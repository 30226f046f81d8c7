package cgroups

import (
	"os"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkCreate measures what the runtime's create and delete pay for
// cgroups: New, Apply (directories, limits, placement of a pid) and
// Destroy.
func BenchmarkCreate(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 20))},
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(128))},
	}
	base := "berth-test-bench-" + strconv.Itoa(os.Getpid()) + "-"
	for i := 0; i < b.N; i++ {
		m, err := New(Config{Path: "/" + base + strconv.Itoa(i), Resources: res})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(-1); err != nil {
			b.Fatal(err)
		}
		if err := m.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
}
