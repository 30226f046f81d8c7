package runtime_test

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withoutMountNS drops the mount namespace and everything only it allows.
func withoutMountNS(s *specs.Spec) {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.MountNamespace {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
	s.Mounts, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil, nil
}

// A config without a mount namespace cannot have its rootfs set up: one
// that asks for mounts, masked or read-only paths, a read-only root or
// device nodes is refused at create, leaving nothing behind, instead of
// running with them silently ignored. runc refuses masked paths there too
// (the other cases would make runc mount in the host's namespace, so they
// are not run against it).
func TestNoMountNamespaceRefused(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			withoutMountNS(s)
			s.Linux.MaskedPaths = []string{"/proc/kcore"}
		})
		want := "linux.maskedPaths without a mount namespace"
		if e.bin != "" {
			want = "without a private MNT namespace" // runc's words
		}
		e.createFails(b, want)
	})
	e := newEnv(t)
	for want, mod := range map[string]func(*specs.Spec){
		"mounts":              func(s *specs.Spec) { s.Mounts = []specs.Mount{{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"}} },
		"linux.readonlyPaths": func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"/proc/sys"} },
		"root.readonly":       func(s *specs.Spec) { s.Root.Readonly = true },
		"linux.devices": func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}}
		},
	} {
		b := e.bundle([]string{"true"}, func(s *specs.Spec) { withoutMountNS(s); mod(s) })
		e.createFails(b, want+" without a mount namespace")
	}
	// With nothing to set up, the rootfs simply becomes the root.
	if out := e.runOut([]string{"sh", "-c", "echo ok"}, withoutMountNS); out != "ok\n" {
		t.Fatalf("no mount namespace, nothing to set up: %q", out)
	}
}
