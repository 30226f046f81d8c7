package imagetest

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/specgen/template"
)

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                     "busybox:latest",
		"localhost/berth-test":        "localhost/berth-test:latest",
		"localhost:5000/a/b":          "localhost:5000/a/b:latest",
		"localhost/berth-test:v1":     "localhost/berth-test:v1",
		"docker.io/library/busybox:1": "docker.io/library/busybox:1",
	} {
		got, err := normalizeRef(in)
		if err != nil || got != want {
			t.Errorf("normalizeRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Upper/case", "a b", "x@sha256:00", "/abs", "trail/", "tag:"} {
		if _, err := normalizeRef(bad); !errors.Is(err, ErrBadRef) {
			t.Errorf("normalizeRef(%q) error = %v, want ErrBadRef", bad, err)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	s := Spec(SpecOptions{CgroupsPath: "/berth-test-x"})
	if s.Version != SpecVersion || s.Root.Path != "rootfs" || s.Process.Args[0] != "sh" || s.Hostname != "berth" {
		t.Fatalf("unexpected defaults: %+v", s)
	}
	if s.Linux.CgroupsPath != "/berth-test-x" || len(s.Linux.Namespaces) != 5 {
		t.Fatalf("linux section: %+v", s.Linux)
	}
	dests := map[string]bool{}
	for _, m := range s.Mounts {
		dests[m.Destination] = true
	}
	for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"} {
		if !dests[d] {
			t.Errorf("mount %s missing", d)
		}
	}
	// Callers may change the result without touching package defaults.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	s.Linux.MaskedPaths[0] = "/x"
	if template.HardenedCapabilities[0] == "CAP_SYS_ADMIN" || template.HardenedMaskedPaths[0] == "/x" {
		t.Fatal("Spec result aliases package defaults")
	}
}

func TestNewBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := NewBundle(dir, Spec(SpecOptions{Args: []string{"true"}})); err != nil {
		t.Fatal(err)
	}
	for _, a := range Applets {
		if l, err := os.Readlink(filepath.Join(dir, "rootfs/bin", a)); err != nil || l != "busybox" {
			t.Errorf("applet %s: %q %v", a, l, err)
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "rootfs/etc/passwd"))
	if err != nil || !strings.Contains(string(pw), "nobody:x:65534") {
		t.Errorf("passwd: %q %v", pw, err)
	}
	var cfg map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["ociVersion"] != SpecVersion {
		t.Fatalf("config.json: %v %v", cfg["ociVersion"], err)
	}
}

func TestNewBundleBadInputLeavesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundle")
	s := Spec(SpecOptions{})
	s.Root.Path = "/abs"
	if err := NewBundle(dir, s); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("absolute root: %v", err)
	}
	if err := NewBundle(dir, nil); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("nil spec: %v", err)
	}
	old := Busybox
	Busybox = filepath.Join(t.TempDir(), "no-busybox")
	defer func() { Busybox = old }()
	if err := NewBundle(dir, Spec(SpecOptions{})); !errors.Is(err, ErrNoBusybox) {
		t.Fatalf("missing busybox: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("bundle dir left behind: %v", err)
	}
}

// members reads a tar into name -> content.
func members(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		m[h.Name] = b
	}
}

func TestArchives(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := BuildRootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	oci, dock := filepath.Join(dir, "oci.tar"), filepath.Join(dir, "docker.tar")
	if err := WriteOCIArchive(oci, rootfs, "localhost/berth-test"); err != nil {
		t.Fatal(err)
	}
	m := members(t, oci)
	if !strings.Contains(string(m["index.json"]), `"org.opencontainers.image.ref.name":"localhost/berth-test:latest"`) {
		t.Errorf("index.json: %s", m["index.json"])
	}
	if _, ok := m["oci-layout"]; !ok {
		t.Error("no oci-layout")
	}
	if err := WriteDockerArchive(dock, rootfs, "localhost/berth-test:v1"); err != nil {
		t.Fatal(err)
	}
	var man []dockerManifestEntry
	if err := json.Unmarshal(members(t, dock)["manifest.json"], &man); err != nil || len(man) != 1 || man[0].RepoTags[0] != "localhost/berth-test:v1" {
		t.Fatalf("manifest.json: %+v %v", man, err)
	}
	// Layers are reproducible: same tree, same digest.
	_, d1, err := layerTar(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	_, d2, _ := layerTar(rootfs)
	if d1 != d2 {
		t.Errorf("layer digest not stable: %s vs %s", d1, d2)
	}
	// Bad input leaves no file.
	bad := filepath.Join(dir, "bad.tar")
	if err := WriteOCIArchive(bad, rootfs, "Bad Ref"); !errors.Is(err, ErrBadRef) {
		t.Errorf("bad ref: %v", err)
	}
	if err := WriteDockerArchive(bad, filepath.Join(dir, "missing"), "x"); err == nil {
		t.Error("missing rootfs accepted")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("bad archive left behind: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".imagetest-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}
