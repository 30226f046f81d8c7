package daemon_test

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/daemon"
)

func TestMetricsAddressLoopbackOrUnixOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"":                         true, // off
		"127.0.0.1:9323":           true,
		"[::1]:9323":               true,
		"localhost:9323":           true,
		"unix:///run/berth/m.sock": true,
		"0.0.0.0:9323":             false,
		":9323":                    false,
		"192.0.2.1:9323":           false,
		"[::]:9323":                false,
		"127.0.0.1":                false,
		"unix://rel/m.sock":        false,
		"unix:///run/../m.sock":    false,
	} {
		cfg := daemon.DefaultConfig()
		cfg.Metrics.Address = addr
		err := cfg.Validate()
		if ok && err != nil || !ok && !errors.Is(err, daemon.ErrBadConfig) {
			t.Errorf("metrics address %q: got %v, want accepted %v", addr, err, ok)
		}
	}
}
