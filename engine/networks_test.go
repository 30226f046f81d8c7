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

// TestLabelFilter checks PruneNetworks' label filters: each must hold,
// label! negates, a bare KEY matches any value, other keys are refused.
func TestLabelFilter(t *testing.T) {
	labels := map[string]string{"team": "a", "tier": "web"}
	for _, tt := range []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"label=team"}, true},
		{[]string{"label=team=a", "label=tier=web"}, true},
		{[]string{"label=team=b"}, false},
		{[]string{"label!=team"}, false},
		{[]string{"label!=team=b"}, true},
		{[]string{"label=team", "label!=other"}, true},
	} {
		match, err := labelFilter(tt.filters)
		if err != nil || match(labels) != tt.want {
			t.Errorf("labelFilter(%q) = %v, %v; want %v", tt.filters, match != nil && match(labels), err, tt.want)
		}
	}
	for _, bad := range []string{"until=1h", "label=", "name=x"} {
		if _, err := labelFilter([]string{bad}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("labelFilter(%q): %v, want invalid argument", bad, err)
		}
	}
}
