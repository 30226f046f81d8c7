package containers_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunFlagsReachContainer: what `run`'s flags ask for is what the
// process gets — environment (also from --env-file), working directory,
// user, hostname, a read-only root with a tmpfs, a bind mount read-only,
// dropped capabilities, an rlimit and a pids limit.
func TestRunFlagsReachContainer(t *testing.T) {
	e := newEnv(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "f"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROMFILE=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		`echo "A=$A FROMFILE=$FROMFILE"`, `pwd`, `id -u`, `hostname`,
		`cat /data/f`, `touch /data/x 2>/dev/null && echo bind-rw || echo bind-ro`,
		`touch /x 2>/dev/null && echo root-rw || echo root-ro`,
		`touch /scratch/x && echo tmpfs-rw`,
		`grep CapEff /proc/self/status`, `ulimit -n`,
		`cat /proc/1/oom_score_adj`, `grep Cpus_allowed_list /proc/1/status`,
	}, "; ")
	out := e.ok("run", "--rm", "-e", "A=1", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000",
		"--hostname", "flagged", "--read-only", "--tmpfs", "/scratch", "-v", host+":/data:ro",
		"--cap-drop", "ALL", "--ulimit", "nofile=512:512", "--pids-limit", "64",
		"--cpuset-cpus", "0", "--oom-score-adj", "300",
		e.ref, "sh", "-c", script)
	want := []string{"A=1 FROMFILE=yes", "/tmp", "1000", "flagged", "from host", "bind-ro", "root-ro", "tmpfs-rw",
		"CapEff:\t0000000000000000", "512", "300", "Cpus_allowed_list:\t0"}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != len(want) {
		t.Fatalf("output:\n%s\nwant lines %q", out, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i+1, got[i], want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(host, "x")); err == nil {
		t.Error("the read-only bind was written")
	}
	e.nothingLeft()
}

// TestRunFlagErrors: a bad flag value is one line naming the flag, exit
// 125, and no container.
func TestRunFlagErrors(t *testing.T) {
	e := newEnv(t)
	e.fails(125, "--memory", "run", "--rm", "--memory", "lots", e.ref, "true")
	e.fails(125, "--restart", "run", "--rm", "--restart", "always", e.ref, "true")
	e.fails(125, "--network", "run", "--rm", "--network", "no/such", e.ref, "true")
	e.nothingLeft()
}

// TestLogOptRotates: --log-opt max-size and max-file reach the shim: the
// container's log is rotated at the size and only max-file files are
// kept, and `logs` still ends with the last line.
func TestLogOptRotates(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--log-opt", "max-size=4k", "--log-opt", "max-file=2", e.ref,
		"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"))
	if out := e.ok("wait", id); out != "0\n" {
		t.Fatalf("wait: %q", out)
	}
	files, err := filepath.Glob(filepath.Join(e.dir, "root", "containers", "default", id, "container.log*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("log files %v, want container.log and one rotated file", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 8<<10 {
			t.Errorf("%s: %d bytes, over twice max-size", f, st.Size())
		}
	}
	if out := e.ok("logs", "--tail", "1", id); out != "line-1999\n" {
		t.Errorf("logs --tail 1: %q", out)
	}
	e.ok("rm", id)
	e.nothingLeft()
}

// TestAttachAndRestart: attach feeds a -i container's stdin and ends with
// its exit code; ctrl-p ctrl-q detaches and leaves it running, stdin open; restart stops and starts a container, whose log then
// holds both runs.
func TestAttachAndRestart(t *testing.T) {
	e := newEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "-i", e.ref, "sh", "-c", "read l; echo got $l; exit 5"))
	cmd := exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "attach", id)
	cmd.Stdin = strings.NewReader("hello\n")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 || string(out) != "got hello\n" {
		t.Fatalf("attach: %q, %v; want \"got hello\" and exit 5", out, err)
	}
	e.ok("rm", id)

	// ctrl-p ctrl-q detaches: attach exits 0, what came before the keys
	// reaches the process, and the container runs on with stdin open.
	id = strings.TrimSpace(e.ok("run", "-d", "-i", e.ref, "sh", "-c", "while read l; do echo got $l; done; echo eof"))
	cmd = exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "attach", id)
	cmd.Stdin = strings.NewReader("one\n\x10\x11two\n")
	if out, err := cmd.Output(); err != nil || strings.Contains(string(out), "two") {
		t.Fatalf("attach, detach: %q, %v; want exit 0 and nothing after the keys", out, err)
	}
	cmd = exec.Command(filepath.Join(bin, "berth"), "--address", e.sock, "attach", id)
	cmd.Stdin = strings.NewReader("three\n\x10\x11")
	if _, err := cmd.Output(); err != nil {
		t.Fatalf("second attach: %v", err)
	}
	if ps := e.ok("ps", "-q"); !strings.Contains(ps, id[:12]) {
		t.Fatalf("not running after detach: %q", ps)
	}
	logs := ""
	for range 100 {
		if logs = e.ok("logs", id); logs == "got one\ngot three\n" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if logs != "got one\ngot three\n" {
		t.Errorf("logs after two detaches: %q, want \"got one\", \"got three\"", logs)
	}
	e.ok("rm", "-f", id)

	id = strings.TrimSpace(e.ok("run", "-d", e.ref, "sh", "-c", "echo boot; while :; do sleep 0.1; done"))
	e.ok("restart", "-t", "1", id)
	if ps := e.ok("ps", "-q"); !strings.Contains(ps, id[:12]) {
		t.Fatalf("not running after restart: %q", ps)
	}
	// The second run writes its line soon after start returns.
	for range 100 {
		if logs = e.ok("logs", id); logs == "boot\nboot\n" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if logs != "boot\nboot\n" {
		t.Errorf("logs after restart: %q, want two boots", logs)
	}
	e.ok("rm", "-f", id)
	e.nothingLeft()
}
