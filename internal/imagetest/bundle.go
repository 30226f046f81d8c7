package imagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrBadSpec is returned for a nil spec or one without a root.
var ErrBadSpec = errors.New("invalid runtime spec")

// NewBundle makes dir an OCI bundle: a busybox root filesystem in
// dir/<spec.Root.Path> and spec written to dir/config.json. On error
// nothing it created is left behind (dir itself is kept if it existed).
func NewBundle(dir string, spec *specs.Spec) (err error) {
	if spec == nil || spec.Root == nil || spec.Root.Path == "" {
		return fmt.Errorf("new bundle %s: %w: no root path", dir, ErrBadSpec)
	}
	if filepath.IsAbs(spec.Root.Path) {
		return fmt.Errorf("new bundle %s: %w: root path %q must be relative to the bundle", dir, ErrBadSpec, spec.Root.Path)
	}
	_, statErr := os.Stat(dir)
	existed := statErr == nil
	rootfs := filepath.Join(dir, spec.Root.Path)
	defer func() {
		if err != nil {
			if existed {
				os.RemoveAll(rootfs)
				os.Remove(filepath.Join(dir, "config.json"))
			} else {
				os.RemoveAll(dir)
			}
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("new bundle: %w", err)
	}
	if err := BuildRootfs(rootfs); err != nil {
		return fmt.Errorf("new bundle %s: %w", dir, err)
	}
	return WriteSpec(dir, spec)
}

// WriteSpec writes spec as dir/config.json, replacing any earlier one.
func WriteSpec(dir string, spec *specs.Spec) error {
	if spec == nil {
		return fmt.Errorf("write spec in %s: %w: nil spec", dir, ErrBadSpec)
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fmt.Errorf("encode spec for %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		return fmt.Errorf("write spec: %w", err)
	}
	return nil
}
