package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	ok := `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","env":["A=1"]},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}`
	if _, err := ParseSpec([]byte(ok)); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	bad := map[string]string{
		`{"ociVersion":"1.0.2",`:                                "config.json",
		`{"ociVersion": 1.0.2.}`:                                "line 1",
		`{"ociVersion":"2.0.0","root":{"path":"r"},"linux":{}}`: "not supported",
		`{"ociVersion":"1.0.2","linux":{}}`:                     "root.path",
		`{"ociVersion":"1.0.2","root":{"path":"r"}}`:            "linux section",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","env":["NOEQUALS"]},"linux":{}}`:                                      "KEY=VALUE",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","oomScoreAdj":5000},"linux":{}}`:                                      "oomScoreAdj",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]},"linux":{}}`: "above its hard limit",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"namespaces":[{"type":"network","path":"relative"}]}}`:                                          "not absolute",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}}`:                                        "need a user namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"mounts":[{"destination":"rel"}],"linux":{}}`:                                                            "not absolute",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"hooks":{"prestart":[{"path":"rel"}]},"linux":{}}`:                                                       "hook path",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"mounts":[{"destination":"/tmp","type":"tmpfs"}],"linux":{"namespaces":[{"type":"pid"}]}}`:               "mounts without a mount namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"maskedPaths":["/proc/kcore"]}}`:                                                                "linux.maskedPaths without a mount namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"readonlyPaths":["/proc/sys"]}}`:                                                                "linux.readonlyPaths without a mount namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r","readonly":true},"linux":{}}`:                                                                             "root.readonly without a mount namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"devices":[{"path":"/dev/kmsg","type":"c","major":1,"minor":11}]}}`:                             "linux.devices without a mount namespace",
		`{"ociVersion":"1.0.2","root":{"path":"r"},"linux":{"rootfsPropagation":"private"}}`:                                                                "linux.rootfsPropagation without a mount namespace",
	}
	for in, want := range bad {
		_, err := ParseSpec([]byte(in))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%s) = %v, want ErrInvalidConfig mentioning %q", in, err, want)
		}
	}
}

func TestLoadBundleResolvesRootfs(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, abs, err := LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if abs != dir || spec.Root.Path != filepath.Join(dir, "rootfs") {
		t.Fatalf("bundle %s rootfs %s", abs, spec.Root.Path)
	}
	os.Remove(filepath.Join(dir, "rootfs"))
	if _, _, err := LoadBundle(dir); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("missing rootfs: %v", err)
	}
	if _, _, err := LoadBundle(t.TempDir()); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "no config.json") {
		t.Fatalf("missing config: %v", err)
	}
}

func TestDefaultDeviceRules(t *testing.T) {
	r := withDefaultDevices(nil)
	if len(r.Devices) != len(defaultDeviceRules) {
		t.Fatalf("%d rules", len(r.Devices))
	}
}
