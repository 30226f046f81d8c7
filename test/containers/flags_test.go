package containers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	}, "; ")
	out := e.ok("run", "--rm", "-e", "A=1", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000",
		"--hostname", "flagged", "--read-only", "--tmpfs", "/scratch", "-v", host+":/data:ro",
		"--cap-drop", "ALL", "--ulimit", "nofile=512:512", "--pids-limit", "64",
		e.ref, "sh", "-c", script)
	want := []string{"A=1 FROMFILE=yes", "/tmp", "1000", "flagged", "from host", "bind-ro", "root-ro", "tmpfs-rw",
		"CapEff:\t0000000000000000", "512"}
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
	e.fails(125, "--network", "run", "--rm", "--network", "bridge", e.ref, "true")
	e.nothingLeft()
}
