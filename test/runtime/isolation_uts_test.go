package runtime_test

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A hostname or domainname without a private UTS namespace would rename
// the host: create refuses it with the field named, and the host's names
// stay as they were. runc 1.1 refuses the hostname; it accepts and ignores
// the domainname (later runc refuses it too), so that case is berth's only.
func TestHostnameWithoutUTSNamespaceRefused(t *testing.T) {
	before, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	domain, _ := os.ReadFile("/proc/sys/kernel/domainname")
	sideBySide(t, func(t *testing.T, e *env) {
		for field, mod := range map[string]func(*specs.Spec){
			"hostname":   func(s *specs.Spec) { s.Hostname = "berth-test-uts" },
			"domainname": func(s *specs.Spec) { s.Domainname = "berth-test-uts" },
		} {
			if field == "domainname" && e.name() == "runc" {
				continue
			}
			b := e.bundle([]string{"true"}, func(s *specs.Spec) {
				var ns []specs.LinuxNamespace
				for _, n := range s.Linux.Namespaces {
					if n.Type != specs.UTSNamespace {
						ns = append(ns, n)
					}
				}
				s.Linux.Namespaces = ns
				s.Hostname = ""
				mod(s)
			})
			e.createFails(b, field+" without a private UTS namespace")
		}
	})
	if after, _ := os.Hostname(); after != before {
		t.Fatalf("host renamed from %q to %q", before, after)
	}
	if after, _ := os.ReadFile("/proc/sys/kernel/domainname"); string(after) != string(domain) {
		t.Fatalf("host domainname changed from %q to %q", domain, after)
	}
}
