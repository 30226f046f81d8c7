// Package platforms parses, formats and matches OCI platforms
// ("os/arch[/variant]") and picks a platform's manifest from an index.
package platforms

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Default is the platform of this machine (linux/amd64, linux/arm64/v8…).
func Default() ocispec.Platform {
	p := ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = armVariant()
	}
	return p
}

func armVariant() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil && strings.Contains(string(b), "CPU architecture: 8") {
		return "v8"
	}
	return "v7"
}

// Parse parses "os/arch[/variant]" (e.g. "linux/arm64/v8").
func Parse(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: strings.ToLower(parts[0]), Architecture: strings.ToLower(parts[1])}
	if len(parts) == 3 {
		p.Variant = strings.ToLower(parts[2])
	}
	if p.Architecture == "aarch64" {
		p.Architecture = "arm64"
	}
	if p.Architecture == "x86_64" {
		p.Architecture = "amd64"
	}
	return p, nil
}

// Format renders a platform as "os/arch[/variant]".
func Format(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Match reports whether have satisfies want. An empty variant in
// want matches any; arm64's variant defaults to v8 on both sides.
func Match(want, have ocispec.Platform) bool {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	wv, hv := want.Variant, have.Variant
	if want.Architecture == "arm64" {
		if wv == "" {
			wv = "v8"
		}
		if hv == "" {
			hv = "v8"
		}
	}
	return wv == "" || wv == hv
}

// Select picks the manifest of want from an index; the error
// lists the available platforms.
func Select(idx *ocispec.Index, want ocispec.Platform) (ocispec.Descriptor, error) {
	var avail []string
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		if d.Platform.OS == "unknown" { // attestation manifests
			continue
		}
		if Match(want, *d.Platform) {
			return d, nil
		}
		avail = append(avail, Format(*d.Platform))
	}
	return ocispec.Descriptor{}, &NoMatchError{Wanted: Format(want), Available: avail}
}

// ErrNoMatch means an index holds no manifest for the wanted platform.
var ErrNoMatch = errdefs.New(errdefs.ErrFailedPrecondition, "no matching platform")

// NoMatchError reports that an index holds no manifest for the wanted
// platform; it lists what is available. It matches ErrNoMatch.
type NoMatchError struct {
	Wanted    string
	Available []string
}

// Error implements error.
func (e *NoMatchError) Error() string {
	return fmt.Sprintf("no matching platform for %s (available: %s)", e.Wanted, strings.Join(e.Available, ", "))
}

// Is makes errors.Is(err, ErrNoMatch) true (and its kind,
// errdefs.ErrFailedPrecondition).
func (e *NoMatchError) Is(target error) bool {
	return target == ErrNoMatch || target == errdefs.ErrFailedPrecondition
}
