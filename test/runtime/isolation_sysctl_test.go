package runtime_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// net.* sysctls are refused when the network namespace joined by path is
// the host's; the host's value stays as it was.
func TestSysctlInHostNetnsByPath(t *testing.T) {
	const key, file = "net.ipv4.tcp_keepalive_probes", "/proc/sys/net/ipv4/tcp_keepalive_probes"
	sideBySide(t, func(t *testing.T, e *env) {
		before := strings.TrimSpace(readHost(t, file))
		t.Cleanup(func() { _ = os.WriteFile(file, []byte(before), 0o644) }) // should a runtime have changed it
		n, err := strconv.Atoi(before)
		if err != nil {
			t.Fatal(err)
		}
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
				}
			}
			s.Linux.Sysctl = map[string]string{key: strconv.Itoa(n%100 + 1)}
		})
		e.createFails(b, key)
		if after := strings.TrimSpace(readHost(t, file)); after != before {
			t.Fatalf("host %s changed from %s to %s", key, before, after)
		}
	})
}
