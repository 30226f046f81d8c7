package command

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/runtime"
)

// FuzzExecFlags feeds exec arbitrary flags and arguments, one per line,
// for a stopped container whose process has no capabilities (valid OCI):
// exec builds the process from them and then refuses the stopped
// container, so nothing is started. Whatever the input, the command must
// end with a one-line error (or none), never a panic.
func FuzzExecFlags(f *testing.F) {
	root := f.TempDir()
	dir := filepath.Join(root, "fz")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	for name, content := range map[string]string{
		"state.json":   `{"id":"fz","pid":0}`,
		"process.json": `{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{
		"--cap\nCAP_KILL", "-c\nCAP_SYS_ADMIN\n-u\n0:0", "--user\nx:y", "-e\nA=1\n--cwd\n/tmp",
		"--tty", "--preserve-fds\n-5", "--additional-gids\nabc", "-g\n7", "--process\n/nonexistent",
		"--no-new-privs=maybe", "--apparmor\nunconfined\n--process-label\nx", "-d\n--pid-file\n/x",
	} {
		f.Add(seed)
	}
	r, err := runtime.New(root)
	if err != nil {
		f.Fatal(err)
	}
	r.Warn = io.Discard
	f.Fuzz(func(t *testing.T, in string) {
		cmd := execCmd(func() (*runtime.Runtime, error) { return r, nil })
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(append(strings.Split(in, "\n"), "fz", "true"))
		if err := cmd.Execute(); err != nil && strings.Contains(strings.TrimSpace(err.Error()), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
	})
}
