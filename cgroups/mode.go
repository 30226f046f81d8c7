package cgroups

import (
	"encoding/json"
	"fmt"
)

// Mode is the layout of the host's cgroup hierarchies.
type Mode int

// The cgroup layouts a host can have.
const (
	// Legacy means only cgroup v1 hierarchies.
	Legacy Mode = iota + 1
	// Hybrid means cgroup v1 hierarchies plus a cgroup2 mount at
	// <root>/unified (usually without controllers beyond, maybe, hugetlb).
	Hybrid
	// Unified means a pure cgroup v2 host, cgroup2 mounted at the root.
	Unified
)

// String returns "legacy", "hybrid" or "unified".
func (m Mode) String() string {
	switch m {
	case Legacy:
		return "legacy"
	case Hybrid:
		return "hybrid"
	case Unified:
		return "unified"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MarshalJSON writes the mode by name so saved state stays readable.
func (m Mode) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON reads a mode written by MarshalJSON.
func (m *Mode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cgroup mode: %w", err)
	}
	switch s {
	case "legacy":
		*m = Legacy
	case "hybrid":
		*m = Hybrid
	case "unified":
		*m = Unified
	default:
		return invalidf("unknown cgroup mode %q", s)
	}
	return nil
}
