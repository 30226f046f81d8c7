package containers_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCopy: berth cp in both directions, for a file, a directory's
// content ("/."), a tar on stdout, through symlinks resolved inside the
// container, on a running and on a stopped container.
func TestCopy(t *testing.T) {
	e := newEnv(t)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Skipf("host has no /etc/passwd to watch: %v", err)
	}
	host := t.TempDir()
	e.ok("run", "-d", "--name", "cp1", e.ref, "sh", "-c", "while :; do sleep 0.1; done")
	e.ok("exec", "cp1", "sh", "-c", "mkdir -p /d/sub /etc && echo a > /d/f && echo b > /d/sub/g && echo ctr > /etc/passwd && ln -s /etc/passwd /link && ln -s /etc /etcdir")

	e.ok("cp", "cp1:/d/f", filepath.Join(host, "f"))
	readIs(t, filepath.Join(host, "f"), "a\n")
	e.ok("cp", "cp1:/d/.", filepath.Join(host, "out"))
	readIs(t, filepath.Join(host, "out", "sub", "g"), "b\n")
	e.ok("cp", "cp1:/etcdir/passwd", filepath.Join(host, "p"))
	readIs(t, filepath.Join(host, "p"), "ctr\n")
	e.ok("cp", "cp1:/link", filepath.Join(host, "link"))
	if l, err := os.Readlink(filepath.Join(host, "link")); err != nil || l != "/etc/passwd" {
		t.Errorf("copied link: %q, %v; want the link itself", l, err)
	}

	out := e.ok("cp", "cp1:/d", "-")
	if names := tarNames(t, out); !slices.Equal(names, []string{"d/", "d/f", "d/sub/", "d/sub/g"}) {
		t.Errorf("tar on stdout: %v", names)
	}

	writeFile(t, filepath.Join(host, "in"), "in\n")
	e.ok("cp", filepath.Join(host, "in"), "cp1:/etcdir/passwd")
	e.ok("cp", filepath.Join(host, "in"), "cp1:/link") // replaces the link
	if got := e.ok("exec", "cp1", "sh", "-c", "cat /etc/passwd; readlink /link || cat /link"); got != "in\nin\n" {
		t.Errorf("container after copying in: %q", got)
	}
	writeFile(t, filepath.Join(host, "dir", "x"), "x\n")
	e.ok("cp", filepath.Join(host, "dir")+"/.", "cp1:/newdir")
	if got := e.ok("exec", "cp1", "cat", "/newdir/x"); got != "x\n" {
		t.Errorf("directory content copied in: %q", got)
	}
	e.fails(1, "no such file", "cp", "cp1:/nope", filepath.Join(host, "nope"))
	e.fails(1, "no such container", "cp", "nosuch:/d", host)

	e.ok("stop", "-t", "1", "cp1")
	e.ok("cp", filepath.Join(host, "in"), "cp1:/d/stopped")
	e.ok("cp", "cp1:/d/stopped", filepath.Join(host, "stopped"))
	readIs(t, filepath.Join(host, "stopped"), "in\n")

	if now, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(now, passwd) {
		t.Errorf("the host's /etc/passwd changed")
	}
	e.ok("rm", "cp1")
	e.nothingLeft()
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-mount-*")); len(m) > 0 {
		t.Errorf("temporary mounts left: %v", m)
	}
}

// TestCopyMounts: berth cp in both directions to and from a running
// container's named volume, bind and tmpfs mount, read back inside the
// container and from the bind's host directory; a symlink in the bind
// climbing out of its host directory leads to the container's /etc; a
// stopped container's mounts are refused with one line and exit 1, its
// root still copied to.
func TestCopyMounts(t *testing.T) {
	e := newEnv(t)
	host, bind := t.TempDir(), t.TempDir()
	e.ok("run", "-d", "--name", "cpm", "-v", "cpvol:/vol", "-v", bind+":/bind", "--tmpfs", "/tmp2", e.ref,
		"sh", "-c", "while :; do sleep 0.1; done")
	writeFile(t, filepath.Join(host, "in"), "in\n")
	writeFile(t, filepath.Join(host, "dir", "x"), "x\n")
	for _, mnt := range []string{"/vol", "/bind", "/tmp2"} {
		e.ok("cp", filepath.Join(host, "in"), "cpm:"+mnt+"/")
		e.ok("cp", filepath.Join(host, "dir"), "cpm:"+mnt+"/newdir")
		if got := e.ok("exec", "cpm", "cat", mnt+"/in", mnt+"/newdir/x"); got != "in\nx\n" {
			t.Errorf("%s after berth cp in: %q", mnt, got)
		}
		out := filepath.Join(host, "out-"+filepath.Base(mnt))
		e.ok("cp", "cpm:"+mnt+"/.", out)
		readIs(t, filepath.Join(out, "in"), "in\n")
		readIs(t, filepath.Join(out, "newdir", "x"), "x\n")
	}
	readIs(t, filepath.Join(bind, "in"), "in\n")
	readIs(t, filepath.Join(bind, "newdir", "x"), "x\n")

	probe := "berth-cpm-" + strconv.Itoa(os.Getpid())
	writeFile(t, filepath.Join(host, probe), "probe\n")
	e.ok("exec", "cpm", "sh", "-c", "echo ctr > /etc/passwd && ln -s ../../../../../../../../etc /bind/up")
	e.ok("cp", filepath.Join(host, probe), "cpm:/bind/up/")
	if _, err := os.Lstat("/etc/" + probe); !errors.Is(err, os.ErrNotExist) {
		os.Remove("/etc/" + probe)
		t.Errorf("berth cp through a symlink in a bind wrote the host's /etc: %v", err)
	}
	e.ok("exec", "cpm", "busybox", "test", "-f", "/etc/"+probe)
	e.ok("cp", "cpm:/bind/up/passwd", filepath.Join(host, "p"))
	readIs(t, filepath.Join(host, "p"), "ctr\n")

	e.ok("stop", "-t", "1", "cpm")
	e.fails(1, "berthd copies to or from the container's mount /vol only while the container runs", "cp", filepath.Join(host, "in"), "cpm:/vol/")
	e.fails(1, "mount /bind only while the container runs", "cp", "cpm:/bind/in", host)
	e.fails(1, "mount /tmp2 only while the container runs", "cp", "cpm:/tmp2", host)
	e.ok("cp", filepath.Join(host, "in"), "cpm:/stopped")
	e.ok("cp", "cpm:/stopped", filepath.Join(host, "stopped"))
	readIs(t, filepath.Join(host, "stopped"), "in\n")

	e.ok("rm", "cpm")
	e.ok("volume", "rm", "cpvol")
	e.nothingLeft()
}

// TestCopyStdin: `berth cp - cp1:/dir` unpacks a tar from stdin.
func TestCopyStdin(t *testing.T) {
	e := newEnv(t)
	e.ok("create", "--name", "cp1", e.ref, "true")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "t.txt", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("tar"))
	_ = tw.Close()
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "cp", "-", "cp1:/")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp -: %v: %s", err, out)
	}
	host := t.TempDir()
	e.ok("cp", "cp1:/t.txt", host)
	readIs(t, filepath.Join(host, "t.txt"), "tar")
	e.ok("rm", "cp1")
	e.nothingLeft()
}

func readIs(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s: %q, %v; want %q", path, b, err, want)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tarNames(t *testing.T, s string) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(strings.NewReader(s))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		names = append(names, h.Name)
	}
}

// TestPsFilterFormat: ps --filter picks containers by status, name and exit code
// (stopped ones without -a) and --format prints a template or JSON.
func TestPsFilterFormat(t *testing.T) {
	e := newEnv(t)
	e.ok("run", "-d", "--name", "up", e.ref, "sh", "-c", "while :; do sleep 0.1; done")
	if _, _, code := e.berth("run", "--name", "done", e.ref, "sh", "-c", "exit 2"); code != 2 {
		t.Fatalf("run: exit %d, want 2", code)
	}
	if out := e.ok("ps", "-a", "--filter", "status=running", "--format", "{{.Names}} {{.State}}"); out != "up running\n" {
		t.Errorf("ps --filter status: %q", out)
	}
	if out := e.ok("ps", "--filter", "exited=2", "--format", "{{.Names}}"); out != "done\n" {
		t.Errorf("ps --filter exited: %q", out)
	}
	out := e.ok("ps", "-a", "--filter", "name=^do", "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(out), &row); err != nil || row["Names"] != "done" || !strings.HasPrefix(row["Status"], "Exited (2)") {
		t.Errorf("ps --format json: %q, %v", out, err)
	}
	e.ok("rm", "-f", "up", "done")
	e.nothingLeft()
}

// TestEvents: `berth events` streams a container's create, start, die
// and destroy, in that order.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", e.ref)
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "events", "--filter", "type=container")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Until a probe's line arrives the subscription may not be in place.
	// A probe is retried until its line arrives (the wait is no assertion).
	for ready := false; !ready; {
		e.ok("create", "--name", "probe", e.ref, "true")
		e.ok("rm", "probe")
		for waiting := true; waiting && !ready; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("berth events ended")
				}
				ready = strings.Contains(l, " destroy ")
			case <-time.After(200 * time.Millisecond):
				waiting = false
			}
		}
	}
	id := strings.TrimSpace(e.ok("run", "-d", "--rm", e.ref, "true"))
	var got []string
	for l := range lines {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == "container" && f[3] == id {
			got = append(got, f[2])
		}
		if strings.Contains(l, " destroy "+id) {
			break
		}
	}
	if !slices.Equal(got, []string{"create", "start", "die", "destroy"}) {
		t.Errorf("events of %.12s: %v", id, got)
	}
	e.nothingLeft()
}

// TestContainerPrune: `container prune -f` removes the created and
// exited containers, prints their IDs and leaves the running one.
func TestContainerPrune(t *testing.T) {
	e := newEnv(t)
	up := strings.TrimSpace(e.ok("run", "-d", e.ref, "sh", "-c", "while :; do sleep 0.1; done"))
	created := strings.TrimSpace(e.ok("create", e.ref, "true"))
	e.ok("run", "--name", "done", e.ref, "true")
	exited := strings.TrimSpace(e.ok("ps", "-a", "--filter", "name=^done$", "--format", "{{.ID}}"))
	out := e.ok("container", "prune", "-f")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "Deleted Containers:" || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, exited) }) || !slices.Contains(lines, created) {
		t.Errorf("prune printed:\n%s", out)
	}
	if left := strings.Fields(e.ok("ps", "-a", "-q")); len(left) != 1 || !strings.HasPrefix(up, left[0]) {
		t.Errorf("left after prune: %v, want only %.12s", left, up)
	}
	e.ok("rm", "-f", up)
	e.nothingLeft()
}
