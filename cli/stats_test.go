package cli

import (
	"bytes"
	"strings"
	"testing"

	apiv1 "github.com/berth-dev/berth/api/v1"
)

func TestPrintStatsCPUFromTwoSamples(t *testing.T) {
	prev := []*apiv1.ContainerStatsSample{{Id: "abc", CpuTotal: 1e9, SystemCpu: 10e9, OnlineCpus: 2}}
	cur := []*apiv1.ContainerStatsSample{{Id: "abc", Name: "web", CpuTotal: 2e9, SystemCpu: 14e9, OnlineCpus: 2,
		MemoryUsage: 16 << 20, MemoryLimit: 64 << 20, Pids: 3}}
	var out bytes.Buffer
	if err := printStats(&out, prev, cur, false); err != nil {
		t.Fatal(err)
	}
	// 1s of the container's over 4s of the host's on 2 CPUs.
	row := strings.Split(strings.TrimSpace(out.String()), "\n")[1]
	for _, want := range []string{"50.00%", "16MiB / 64MiB", "25.00%"} {
		if !strings.Contains(row, want) {
			t.Errorf("row %q lacks %q", row, want)
		}
	}
	if f := strings.Fields(row); f[len(f)-1] != "3" {
		t.Errorf("row %q: pids are not 3", row)
	}
}

func TestBinarySize(t *testing.T) {
	for n, want := range map[uint64]string{512: "512B", 64 << 20: "64MiB", 1536: "1.5KiB"} {
		if got := binarySize(n); got != want {
			t.Errorf("binarySize(%d) = %q, want %q", n, got, want)
		}
	}
}
