package sysctl

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
	"golang.org/x/sys/unix"
)

// inNewNetNS runs fn on a locked thread moved into a fresh network
// namespace; the thread is discarded afterwards (never unlocked), so the
// namespace dies with it.
func inNewNetNS(t *testing.T, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func readIPForward() (string, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return strings.TrimSpace(string(b)), err
}

func TestApplyIPForwardInNewNetNS(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	host, err := readIPForward()
	if err != nil {
		t.Fatal(err)
	}
	err = inNewNetNS(t, func() error {
		for _, want := range []string{"1", "0", "1"} {
			if err := Apply(map[string]string{"net.ipv4.ip_forward": want}, Namespaces{Net: true}); err != nil {
				return err
			}
			if got, err := readIPForward(); err != nil || got != want {
				return fmt.Errorf("ip_forward in the new net ns = %q (%v), want %q", got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := readIPForward(); after != host {
		t.Errorf("host ip_forward changed from %q to %q", host, after)
	}
}

// TestApplyRefusesBeforeWriting: one bad key in the map means nothing at
// all is written.
func TestApplyRefusesBeforeWriting(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	err := inNewNetNS(t, func() error {
		before, _ := readIPForward()
		flip := map[string]string{"0": "1", "1": "0"}[before]
		err := Apply(map[string]string{
			"net.ipv4.ip_forward": flip,
			"kernel.core_pattern": "|/tmp/evil",
		}, Namespaces{Net: true})
		if after, _ := readIPForward(); after != before {
			return fmt.Errorf("ip_forward was written (%s -> %s) despite the refusal", before, after)
		}
		return err
	})
	if !errors.Is(err, ErrNotNamespaced) {
		t.Fatalf("err = %v, want ErrNotNamespaced", err)
	}
}

func TestApplyUnknownKey(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	err := inNewNetNS(t, func() error {
		return Apply(map[string]string{"net.ipv4.no_such_knob": "1"}, Namespaces{Net: true})
	})
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "net.ipv4.no_such_knob") {
		t.Fatalf("err = %v, want ENOENT naming the key", err)
	}
}

func TestApplyAtRefusesNonProcfs(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/net/ipv4", 0o755); err != nil {
		t.Fatal(err)
	}
	err := applyAt(dir, map[string]string{"net.ipv4.ip_forward": "1"}, Namespaces{Net: true})
	if err == nil || !strings.Contains(err.Error(), "not procfs") {
		t.Fatalf("err = %v, want a not-procfs refusal", err)
	}
}

func TestSameValue(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"1\n", "1", true},
		{"250\t32000\t32\t128\n", "250 32000 32 128", true},
		{"0\n", "1", false},
		{"32768\t60999\n", "32768 61000", false},
		{"\n", "", true},
		{"16\n", "0x10", true},
		{"8\n", "010", true},
		{"16\n", "0x11", false},
		{"cubic\n", "reno", false},
	} {
		if got := sameValue(c.a, c.b); got != c.want {
			t.Errorf("sameValue(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
