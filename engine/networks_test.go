package engine

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/errdefs"
)

func TestNetworksUnavailableWithoutPlugins(t *testing.T) {
	dir := t.TempDir()
	e, err := New(t.Context(), Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Snapshotter: "native", Network: NetworkConfig{PluginDirs: []string{filepath.Join(dir, "no-plugins")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.networks(); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("networks without plugins: %v, want unavailable", err)
	}
}
