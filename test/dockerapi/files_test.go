package dockerapi_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopy checks `docker cp` both ways with the real CLI: a file and a
// directory out of and into a running container (content and mode), into
// and out of a stopped one, `docker cp -` streaming a tar both ways, the
// stat header of HEAD, `docker export`, copies through a symlink to /etc
// and a climbing one that stay inside the container's root, a file that
// would replace a directory, a missing path, an unknown container, and
// that nothing is left. TestCopyMounts covers mounts.
func TestCopy(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("run", "-d", "--name", "cp", e.ref, "sleep", "1000")
	e.ok("exec", "cp", "sh", "-c", "busybox mkdir -p /data/sub && echo hello > /data/sub/f && busybox chmod 0640 /data/sub/f && "+
		"busybox ln -s /etc /data/etclink && busybox ln -s ../../../../../../../etc /data/up")
	d := t.TempDir()

	// Out of a running container: a file, a directory.
	e.ok("cp", "cp:/data/sub/f", filepath.Join(d, "f"))
	checkFile(t, filepath.Join(d, "f"), "hello\n", 0o640)
	e.ok("cp", "cp:/data/sub", filepath.Join(d, "out"))
	checkFile(t, filepath.Join(d, "out", "f"), "hello\n", 0o640)

	// Into it: a file into a directory, a directory to a new path.
	writeFile(t, filepath.Join(d, "in.txt"), "in\n", 0o750)
	e.ok("cp", filepath.Join(d, "in.txt"), "cp:/data/")
	if got := e.ok("exec", "cp", "busybox", "stat", "-c", "%a %u:%g", "/data/in.txt"); got != "750 0:0" {
		t.Errorf("/data/in.txt: mode and owner %q, want 750 0:0", got)
	}
	if got := e.ok("exec", "cp", "cat", "/data/in.txt"); got != "in" {
		t.Errorf("/data/in.txt holds %q, want in", got)
	}
	writeFile(t, filepath.Join(d, "indir", "x", "y"), "why\n", 0o604)
	e.ok("cp", filepath.Join(d, "indir"), "cp:/data/newdir")
	if got := e.ok("exec", "cp", "sh", "-c", "busybox stat -c %a /data/newdir/x/y; cat /data/newdir/x/y"); got != "604\nwhy" {
		t.Errorf("/data/newdir/x/y: %q, want mode 604 and why", got)
	}

	// HEAD gives the stat header alone.
	checkStatHeader(t, e, "/v1.50/containers/cp/archive?path=/data/sub/f", "f", 6, 0o640)

	// docker cp - streams a tar out and in.
	tarOut, errOut, code := e.run(dockerCLI, nil, "cp", "cp:/data/sub", "-")
	if code != 0 {
		t.Fatalf("docker cp cp:/data/sub -: exit %d, %q", code, errOut)
	}
	if got := tarEntries(t, strings.NewReader(tarOut)); got["sub/f"] != "hello\n" || !hasKey(got, "sub/") {
		t.Errorf("docker cp - out: entries %v, want sub/ and sub/f holding hello", got)
	}
	tarIn := mkTar(t, "streamed.txt", "streamed\n", 0o600)
	if _, errIn, code := e.run(dockerCLI, tarIn, "cp", "-", "cp:/data"); code != 0 {
		t.Fatalf("docker cp - cp:/data: exit %d, %q", code, errIn)
	}
	if got := e.ok("exec", "cp", "sh", "-c", "busybox stat -c %a /data/streamed.txt; cat /data/streamed.txt"); got != "600\nstreamed" {
		t.Errorf("/data/streamed.txt: %q, want mode 600 and streamed", got)
	}

	// A stopped container: into it before it runs, out of it after.
	e.ok("create", "--name", "stopped", e.ref, "cat", "/in.txt")
	e.ok("cp", filepath.Join(d, "in.txt"), "stopped:/")
	if got := e.ok("start", "-a", "stopped"); got != "in" {
		t.Errorf("the stopped container's copy: it printed %q, want in", got)
	}
	e.ok("cp", "stopped:/in.txt", filepath.Join(d, "back.txt"))
	checkFile(t, filepath.Join(d, "back.txt"), "in\n", 0o750)

	// docker export: the container's filesystem.
	exp := filepath.Join(d, "exp.tar")
	e.ok("export", "-o", exp, "cp")
	f, err := os.Open(exp)
	if err != nil {
		t.Fatal(err)
	}
	ents := tarEntries(t, f)
	f.Close()
	if ents["./data/sub/f"] != "hello\n" || !hasKey(ents, "./bin/busybox") {
		t.Errorf("docker export: no ./data/sub/f holding hello or no ./bin/busybox among %d entries", len(ents))
	}

	// Symlinks to /etc, absolute and climbing, lead to the container's
	// /etc: nothing is read from or written to the host's.
	probe := "berth-cp-" + randHex(t)
	writeFile(t, filepath.Join(d, probe), "probe\n", 0o644)
	e.ok("cp", filepath.Join(d, probe), "cp:/data/etclink")
	putTar(t, e, "/v1.50/containers/cp/archive?path=/data/up/", mkTar(t, probe+".2", "probe\n", 0o644), http.StatusOK)
	for _, p := range []string{"/etc/" + probe, "/etc/" + probe + ".2"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			os.Remove(p)
			t.Errorf("a copy through a symlink in the container wrote the host's %s: %v", p, err)
		}
		e.ok("exec", "cp", "busybox", "test", "-f", p)
	}
	putTar(t, e, "/v1.50/containers/cp/archive?path=/data/etclink", mkTar(t, "x", "x", 0o644), http.StatusBadRequest)
	e.ok("cp", "cp:/data/etclink/passwd", filepath.Join(d, "passwd"))
	e.ok("cp", "cp:/data/up/passwd", filepath.Join(d, "passwd2"))
	ctrPasswd := e.ok("exec", "cp", "cat", "/etc/passwd")
	hostPasswd, _ := os.ReadFile("/etc/passwd")
	for _, p := range []string{"passwd", "passwd2"} {
		got, _ := os.ReadFile(filepath.Join(d, p))
		if strings.TrimSpace(string(got)) != ctrPasswd || string(got) == string(hostPasswd) {
			t.Errorf("/etc/passwd read through a symlink in the container is not the container's: %q", got)
		}
	}

	// A file does not replace a directory; errors are one line.
	writeFile(t, filepath.Join(d, "clash", "sub"), "file\n", 0o644)
	e.fails("cannot overwrite directory", "cp", filepath.Join(d, "clash", "sub"), "cp:/data/")
	e.ok("exec", "cp", "busybox", "test", "-f", "/data/sub/f")
	e.fails("Could not find the file /nope in container cp", "cp", "cp:/nope", filepath.Join(d, "nope"))
	putTar(t, e, "/v1.50/containers/cp/archive?path=/nope", mkTar(t, "x", "x", 0o644), http.StatusNotFound)
	e.fails("no such container: ghost", "cp", "ghost:/etc/passwd", d)
	e.fails("no such container: ghost", "cp", filepath.Join(d, "in.txt"), "ghost:/tmp")
	if code, _, body := e.request(http.MethodGet, "/v1.50/containers/cp/archive?path=/nope", ""); code != http.StatusNotFound ||
		!strings.Contains(body, `"Could not find the file /nope in container cp"`) {
		t.Errorf("GET a missing path: %d %q, want 404 with Docker's message", code, body)
	}

	e.ok("rm", "-f", "cp", "stopped")
	e.nothingLeft()
}

// TestCopyMounts checks `docker cp` both ways with the real CLI to and
// from a running container's named volume, bind, read-only bind and
// tmpfs mount: a file and a directory in, read back inside the container
// and from the bind's host directory, and out again; symlinks in the
// mounts (absolute, and climbing out of the bind's host directory) that
// lead to the container's /etc, never the host's; a read-only mount
// refused; a paused container copied from; `docker export` without the
// mounts; a stopped container's mounts (the mount point, a path under
// it) and a never started one's refused with a one-line 501 while the
// rest of its root is still copied to; and that nothing is left.
func TestCopyMounts(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	d, bind, roDir := t.TempDir(), t.TempDir(), t.TempDir()
	vol := "cpvol-" + randHex(t)
	e.ok("run", "-d", "--name", "m", "-v", vol+":/vol", "-v", bind+":/bind", "-v", roDir+":/ro:ro", "--tmpfs", "/tmp2",
		e.ref, "sleep", "1000")
	writeFile(t, filepath.Join(d, "in.txt"), "in\n", 0o640)
	writeFile(t, filepath.Join(d, "indir", "x", "y"), "why\n", 0o604)

	for _, mnt := range []string{"/vol", "/bind", "/tmp2"} {
		e.ok("cp", filepath.Join(d, "in.txt"), "m:"+mnt+"/")
		e.ok("cp", filepath.Join(d, "indir"), "m:"+mnt+"/newdir")
		if got := e.ok("exec", "m", "sh", "-c", "cat "+mnt+"/in.txt "+mnt+"/newdir/x/y; busybox stat -c %a "+mnt+"/in.txt"); got != "in\nwhy\n640" {
			t.Errorf("%s after docker cp in: %q, want in, why and mode 640", mnt, got)
		}
		out := filepath.Join(d, "out-"+filepath.Base(mnt))
		e.ok("cp", "m:"+mnt+"/in.txt", out)
		checkFile(t, out, "in\n", 0o640)
		e.ok("cp", "m:"+mnt+"/newdir", out+"dir")
		checkFile(t, filepath.Join(out+"dir", "x", "y"), "why\n", 0o604)
	}
	checkFile(t, filepath.Join(bind, "in.txt"), "in\n", 0o640)
	checkFile(t, filepath.Join(bind, "newdir", "x", "y"), "why\n", 0o604)
	// The mount point itself as the destination, and a tar out of it.
	e.ok("cp", filepath.Join(d, "in.txt"), "m:/tmp2/renamed")
	if got := e.ok("exec", "m", "cat", "/tmp2/renamed"); got != "in" {
		t.Errorf("/tmp2/renamed: %q, want in", got)
	}
	tarOut, errOut, code := e.run(dockerCLI, nil, "cp", "m:/vol", "-")
	if ents := tarEntries(t, strings.NewReader(tarOut)); code != 0 || ents["vol/in.txt"] != "in\n" || ents["vol/newdir/x/y"] != "why\n" {
		t.Errorf("docker cp m:/vol -: exit %d %q, entries %v", code, errOut, ents)
	}

	// Symlinks in the mounts lead to the container's /etc: an absolute
	// one, and one climbing out of the bind's directory on the host.
	e.ok("exec", "m", "sh", "-c", "busybox ln -s /etc /vol/etclink && busybox ln -s ../../../../../../../../etc /bind/up && "+
		"busybox ln -s /etc/passwd /tmp2/pw")
	probe := "berth-cpm-" + randHex(t)
	writeFile(t, filepath.Join(d, probe), "probe\n", 0o644)
	e.ok("cp", filepath.Join(d, probe), "m:/vol/etclink")
	putTar(t, e, "/v1.50/containers/m/archive?path=/bind/up/", mkTar(t, probe+".2", "probe\n", 0o644), http.StatusOK)
	putTar(t, e, "/v1.50/containers/m/archive?path=/vol/../../../../etc/", mkTar(t, probe+".3", "probe\n", 0o644), http.StatusOK)
	for _, p := range []string{"/etc/" + probe, "/etc/" + probe + ".2", "/etc/" + probe + ".3"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			os.Remove(p)
			t.Errorf("a copy through a symlink in a mount wrote the host's %s: %v", p, err)
		}
		e.ok("exec", "m", "busybox", "test", "-f", p)
	}
	ctrPasswd := e.ok("exec", "m", "cat", "/etc/passwd")
	hostPasswd, _ := os.ReadFile("/etc/passwd")
	e.ok("cp", "m:/vol/etclink/passwd", filepath.Join(d, "passwd1"))
	e.ok("cp", "m:/bind/up/passwd", filepath.Join(d, "passwd2"))
	e.ok("cp", "-L", "m:/tmp2/pw", filepath.Join(d, "passwd3"))
	for _, p := range []string{"passwd1", "passwd2", "passwd3"} {
		got, _ := os.ReadFile(filepath.Join(d, p))
		if strings.TrimSpace(string(got)) != ctrPasswd || string(got) == string(hostPasswd) {
			t.Errorf("%s, /etc/passwd read through a symlink in a mount, is not the container's: %q", p, got)
		}
	}

	// A read-only mount is refused; a paused container is copied from.
	e.fails("mounted volume is marked read-only", "cp", filepath.Join(d, "in.txt"), "m:/ro/")
	e.ok("pause", "m")
	e.ok("cp", "m:/bind/in.txt", filepath.Join(d, "paused.txt"))
	checkFile(t, filepath.Join(d, "paused.txt"), "in\n", 0o640)
	e.ok("unpause", "m")

	// docker export holds the root filesystem without the mounts, and
	// nothing was written beneath them.
	exp := filepath.Join(d, "exp.tar")
	e.ok("export", "-o", exp, "m")
	f, err := os.Open(exp)
	if err != nil {
		t.Fatal(err)
	}
	ents := tarEntries(t, f)
	f.Close()
	for _, p := range []string{"./vol/in.txt", "./bind/in.txt", "./tmp2/in.txt", "./tmp2/renamed"} {
		if hasKey(ents, p) {
			t.Errorf("docker export holds %s, which is in a mount", p)
		}
	}
	if !hasKey(ents, "./bin/busybox") {
		t.Errorf("docker export: no ./bin/busybox among %d entries", len(ents))
	}

	// A stopped container: its mounts are refused, its root is not.
	e.ok("stop", "-t", "0", "m")
	const refused = "berthd copies to or from the container's mount "
	e.fails(refused+"/vol only while the container runs", "cp", filepath.Join(d, "in.txt"), "m:/vol/")
	e.fails(refused+"/vol only while the container runs", "cp", filepath.Join(d, "in.txt"), "m:/vol")
	e.fails(refused+"/vol only while the container runs", "cp", filepath.Join(d, "in.txt"), "m:/vol/newname")
	e.ok("create", "--name", "never", "-v", vol+":/vol2", e.ref, "true")
	e.fails(refused+"/vol2 only while the container runs", "cp", filepath.Join(d, "in.txt"), "never:/vol2")
	e.fails(refused+"/bind only while the container runs", "cp", "m:/bind/in.txt", d)
	e.fails(refused+"/tmp2 only while the container runs", "cp", "m:/tmp2", d)
	putTar(t, e, "/v1.50/containers/m/archive?path=/vol", mkTar(t, "x", "x", 0o644), http.StatusNotImplemented)
	e.ok("cp", filepath.Join(d, "in.txt"), "m:/stopped.txt")
	e.ok("cp", "m:/stopped.txt", filepath.Join(d, "stopped.txt"))
	checkFile(t, filepath.Join(d, "stopped.txt"), "in\n", 0o640)

	e.ok("rm", "-f", "m", "never")
	e.ok("volume", "rm", vol)
	if out := e.ok("volume", "ls", "-q"); out != "" {
		t.Errorf("volumes left: %q", out)
	}
	e.nothingLeft()
}

// checkFile checks p's content and permission bits.
func checkFile(t *testing.T, p, want string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	st, serr := os.Stat(p)
	if err != nil || serr != nil || string(b) != want || st.Mode().Perm() != mode {
		t.Errorf("%s: %q (%v), mode %v (%v); want %q, %v", p, b, err, st, serr, want, mode)
	}
}

// writeFile writes p, its directories made, with mode.
func writeFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// mkTar is a tar of one file.
func mkTar(t *testing.T, name, data string, mode int64) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(data))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

// tarEntries reads a tar: each entry's name and, for a file, content.
func tarEntries(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// putTar sends a tar to the archive endpoint path and checks the status.
func putTar(t *testing.T, e *env, path string, body io.Reader, want int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://docker"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("PUT %s: %d %q, want %d", path, resp.StatusCode, b, want)
	}
}

// checkStatHeader checks HEAD path's stat header: name, size, mode.
func checkStatHeader(t *testing.T, e *env, path, name string, size int64, mode os.FileMode) {
	t.Helper()
	code, h, body := e.request(http.MethodHead, path, "")
	raw, err := base64.StdEncoding.DecodeString(h.Get("X-Docker-Container-Path-Stat"))
	var st struct {
		Name string      `json:"name"`
		Size int64       `json:"size"`
		Mode os.FileMode `json:"mode"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if code != http.StatusOK || body != "" || err != nil || st.Name != name || st.Size != size || st.Mode != mode {
		t.Errorf("HEAD %s: %d, body %q, stat %s (%v); want 200, no body, %s of %d bytes, mode %v", path, code, body, raw, err, name, size, mode)
	}
}

func randHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
