package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime/proto"
)

// LoadBundle reads and validates BUNDLE/config.json. It returns the spec
// with the rootfs path made absolute and the bundle directory.
func LoadBundle(bundle string) (*specs.Spec, string, error) {
	spec, abs, _, err := loadBundle(bundle)
	return spec, abs, err
}

// loadBundle is LoadBundle that also returns config.json's bytes.
func loadBundle(bundle string) (*specs.Spec, string, []byte, error) {
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", nil, fmt.Errorf("bundle %s: %w", bundle, err)
	}
	b, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", nil, fmt.Errorf("%w: bundle %s has no config.json", ErrInvalidConfig, abs)
		}
		return nil, "", nil, fmt.Errorf("read config.json: %w", err)
	}
	spec, err := ParseSpec(b)
	if err != nil {
		return nil, "", nil, err
	}
	root := spec.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(abs, root)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: rootfs %s: %v", ErrInvalidConfig, root, err)
	}
	if !st.IsDir() {
		return nil, "", nil, fmt.Errorf("%w: rootfs %s is not a directory", ErrInvalidConfig, root)
	}
	spec.Root.Path = root
	return spec, abs, b, nil
}

// ParseSpec decodes config.json strictly and checks what a runtime needs
// before it creates anything.
func ParseSpec(b []byte) (*specs.Spec, error) {
	var spec specs.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%w: config.json: %v", ErrInvalidConfig, jsonErr(b, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: config.json: trailing data after the JSON object", ErrInvalidConfig)
	}
	if err := ValidateSpec(&spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// jsonErr adds the line of a syntax error.
func jsonErr(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return err
}

// validNS are the namespace types a spec may name.
var validNS = map[specs.LinuxNamespaceType]bool{
	specs.PIDNamespace: true, specs.NetworkNamespace: true, specs.MountNamespace: true,
	specs.IPCNamespace: true, specs.UTSNamespace: true, specs.UserNamespace: true,
	specs.CgroupNamespace: true, specs.TimeNamespace: true,
}

// ValidateSpec checks the parts of a spec that must be right before
// anything is created. Deeper checks (mounts, seccomp, capabilities,
// cgroups, sysctls) happen in the packages that own them, still before the
// container's process starts.
func ValidateSpec(s *specs.Spec) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	if s.Version == "" {
		return bad("ociVersion is missing")
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return bad("ociVersion %q is not supported (want 1.x)", s.Version)
	}
	if s.Root == nil || s.Root.Path == "" {
		return bad("root.path is missing")
	}
	if s.Process != nil {
		if err := validateProcess(s.Process); err != nil {
			return err
		}
	}
	if s.Linux == nil {
		return bad("linux section is missing")
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range s.Linux.Namespaces {
		if !validNS[ns.Type] {
			return bad("unknown namespace type %q", ns.Type)
		}
		if seen[ns.Type] {
			return bad("namespace %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return bad("namespace %q path %q is not absolute", ns.Type, ns.Path)
		}
	}
	if (len(s.Linux.UIDMappings) > 0 || len(s.Linux.GIDMappings) > 0) && !seen[specs.UserNamespace] {
		return bad("uidMappings/gidMappings need a user namespace")
	}
	if s.Linux.TimeOffsets != nil && !seen[specs.TimeNamespace] {
		return bad("timeOffsets need a time namespace")
	}
	for i, m := range s.Mounts {
		if m.Destination == "" {
			return bad("mounts[%d] has no destination", i)
		}
		if !filepath.IsAbs(m.Destination) {
			return bad("mounts[%d] destination %q is not absolute", i, m.Destination)
		}
	}
	if !seen[specs.MountNamespace] {
		if what := rootfsSetup(s); what != "" {
			return bad("%s without a mount namespace (add one to linux.namespaces)", what)
		}
	}
	if s.Hooks != nil {
		all := [][]specs.Hook{s.Hooks.Prestart, s.Hooks.CreateRuntime, s.Hooks.CreateContainer, s.Hooks.StartContainer, s.Hooks.Poststart, s.Hooks.Poststop} //nolint:staticcheck // prestart is deprecated but still honoured
		for _, hs := range all {
			for _, h := range hs {
				if !filepath.IsAbs(h.Path) {
					return bad("hook path %q is not absolute", h.Path)
				}
				if h.Timeout != nil && *h.Timeout <= 0 {
					return bad("hook %s timeout must be positive", h.Path)
				}
			}
		}
	}
	return nil
}

// rootfsSetup names the first part of s that only a container with a
// mount namespace (new or joined) can have done to its rootfs, or "" if none.
// Without one the container gets the rootfs as its root and nothing else
// (mounting there would change the host's mounts), so such a config is
// refused rather than silently half-applied. runc refuses masked and
// read-only paths there; berth refuses everything it would skip.
func rootfsSetup(s *specs.Spec) string {
	l := s.Linux
	switch {
	case len(s.Mounts) > 0:
		return "mounts"
	case len(l.MaskedPaths) > 0:
		return "linux.maskedPaths"
	case len(l.ReadonlyPaths) > 0:
		return "linux.readonlyPaths"
	case s.Root != nil && s.Root.Readonly:
		return "root.readonly"
	case len(l.Devices) > 0:
		return "linux.devices"
	case l.RootfsPropagation != "":
		return "linux.rootfsPropagation"
	}
	return ""
}

func validateProcess(p *specs.Process) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	if len(p.Args) == 0 && p.CommandLine == "" {
		return bad("process.args must not be empty")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return bad("process.cwd %q must be an absolute path", p.Cwd)
	}
	for _, e := range p.Env {
		if !strings.Contains(e, "=") {
			return bad("process.env entry %q is not KEY=VALUE", e)
		}
	}
	for _, r := range p.Rlimits {
		if _, ok := proto.RlimitResource(r.Type); !ok {
			return bad("unknown rlimit %q", r.Type)
		}
		if r.Soft > r.Hard {
			return bad("rlimit %s soft limit %d is above its hard limit %d", r.Type, r.Soft, r.Hard)
		}
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return bad("oomScoreAdj %d is outside -1000..1000", *p.OOMScoreAdj)
	}
	return nil
}
