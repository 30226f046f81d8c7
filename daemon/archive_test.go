package daemon_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/registrytest"
	"github.com/berth-dev/berth/internal/testutil"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	reg := registrytest.Start(t, registrytest.Options{})
	ml, err := registrytest.MultiLayerImage(registrytest.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushImage(t, "test/ml", "v1", ml)
	td := startDaemon(t, nil)
	ref := reg.Host + "/test/ml:v1"
	td.ok(t, "pull", ref)
	dir := t.TempDir()
	oci, docker := filepath.Join(dir, "oci.tar"), filepath.Join(dir, "docker.tar")
	td.ok(t, "save", "-o", oci, ref)
	td.ok(t, "save", "--format", "docker", "-o", docker, ref)
	td.ok(t, "rmi", ref)

	out := td.ok(t, "load", "-i", oci)
	if !strings.Contains(out, "Loaded image: "+ref) {
		t.Fatalf("load oci: %s", out)
	}
	td.ok(t, "rmi", ref)
	out = td.ok(t, "load", "-i", docker)
	if !strings.Contains(out, "Loaded image: "+ref) {
		t.Fatalf("load docker: %s", out)
	}
	if out := td.ok(t, "inspect", ref); !strings.Contains(out, ml.Config.Digest.String()) {
		t.Fatalf("loaded image has another config:\n%s", out)
	}
	td.ok(t, "rmi", ref)
	if out := td.ok(t, "info"); !strings.Contains(out, "0 blobs") {
		t.Fatalf("content left:\n%s", out)
	}
}

// evilTar builds a docker-style archive whose valid blobs come first and
// whose later entry escapes.
func evilTar(t *testing.T, evil tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"abc.json", `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`},
		{"layer/layer.tar", strings.Repeat("x", 2048)},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if evil.Typeflag == tar.TypeReg {
		evil.Size = 4
	}
	evil.Mode = 0o644
	if err := tw.WriteHeader(&evil); err != nil {
		t.Fatal(err)
	}
	if evil.Typeflag == tar.TypeReg {
		if _, err := tw.Write([]byte("evil")); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `[{"Config":"abc.json","RepoTags":["berth-test/evil:1"],"Layers":["layer/layer.tar"]}]`
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(manifest)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(manifest)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadRejectsPathTraversal(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	td := startDaemon(t, nil)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	for _, h := range []tar.Header{
		{Name: "../../../../../../.." + victim, Typeflag: tar.TypeReg},
		{Name: victim, Typeflag: tar.TypeReg},
		{Name: "blobs/../../x", Typeflag: tar.TypeReg},
		{Name: "layer2/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/passwd"},
		{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../outside"},
	} {
		p := filepath.Join(dir, "evil.tar")
		if err := os.WriteFile(p, evilTar(t, h), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := td.berth(t, "load", "-i", p)
		if err == nil || !strings.Contains(err.Error(), "escapes") {
			t.Fatalf("%s: want path escape error, got %v", h.Name, err)
		}
		if _, err := os.Lstat(victim); !os.IsNotExist(err) {
			t.Fatalf("%s: file written outside: %v", h.Name, err)
		}
		if out := td.ok(t, "info"); !strings.Contains(out, "0 blobs") {
			t.Fatalf("%s: blobs left after a rejected load:\n%s", h.Name, out)
		}
		if out := td.ok(t, "images", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: image recorded: %s", h.Name, out)
		}
	}
}
