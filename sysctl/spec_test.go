package sysctl

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestFromSpecOnHostRefusesHostNamespaces: a namespace joined by a path
// that is the runtime's own (the host's) does not count as the
// container's, so its sysctls are refused; a new one still counts.
func TestFromSpecOnHostRefusesHostNamespaces(t *testing.T) {
	l := &specs.Linux{
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"},
			{Type: specs.IPCNamespace, Path: "/proc/self/ns/ipc"},
			{Type: specs.UTSNamespace},
		},
		Sysctl: map[string]string{"net.ipv4.ip_forward": "1"},
	}
	ns, err := FromSpecOnHost(l)
	if err != nil {
		t.Fatal(err)
	}
	if ns != (Namespaces{UTS: true}) {
		t.Fatalf("namespaces %+v, want only UTS", ns)
	}
	if err := Validate(l.Sysctl, ns); !errors.Is(err, ErrNamespaceRequired) {
		t.Fatalf("net.* sysctl in the host's network namespace: %v", err)
	}
	if FromSpec(l) != (Namespaces{IPC: true, Net: true, UTS: true}) {
		t.Fatal("FromSpec (the init's view, inside the namespaces) changed")
	}
	l.Namespaces[0].Path = "/nonexistent/netns"
	if _, err := FromSpecOnHost(l); err == nil {
		t.Fatal("a namespace path that does not exist was accepted")
	}
}
