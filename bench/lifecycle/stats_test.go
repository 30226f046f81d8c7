package main

import (
	"errors"
	"testing"
	"time"
)

func TestSample(t *testing.T) {
	s := sample{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond}
	if got := s.mean(); got != 4*time.Millisecond {
		t.Errorf("mean = %v", got)
	}
	if got := s.median(); got != 2500*time.Microsecond {
		t.Errorf("median = %v", got)
	}
	if got := s[:3].median(); got != 2*time.Millisecond {
		t.Errorf("odd median = %v", got)
	}
	if (sample{}).mean() != 0 || (sample{}).median() != 0 {
		t.Error("empty sample not zero")
	}
}

func TestParseRuntime(t *testing.T) {
	r, err := parseRuntime("crun=/usr/bin/crun --cgroup-manager=disabled")
	if err != nil || r.name != "crun" || r.path != "/usr/bin/crun" || len(r.global) != 1 || r.global[0] != "--cgroup-manager=disabled" {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"", "runc", "=x", "runc=", "runc=  "} {
		if _, err := parseRuntime(bad); !errors.Is(err, errBadRuntime) {
			t.Errorf("parseRuntime(%q) = %v", bad, err)
		}
	}
}
