package runtime_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	berth "github.com/berth-dev/berth/runtime"
)

// library returns the runtime library over e's root, with the berth-init
// beside the binary under test.
func (e *env) library() *berth.Runtime {
	e.t.Helper()
	init := filepath.Join(filepath.Dir(bin), "berth-init")
	if _, err := os.Stat(init); err != nil {
		e.t.Skipf("no berth-init beside %s (run make build): %v", bin, err)
	}
	r, err := berth.New(e.root)
	if err != nil {
		e.t.Fatal(err)
	}
	r.InitPath = init
	return r
}

// pipes returns Stdio over three pipes, and the ends the test keeps: it
// writes stdin and reads stdout and stderr. Every end is closed when the
// test ends.
func pipes(t *testing.T) (berth.Stdio, *os.File, *os.File, *os.File) {
	t.Helper()
	var ends [3][2]*os.File
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		ends[i] = [2]*os.File{r, w}
		t.Cleanup(func() { r.Close(); w.Close() })
	}
	return berth.Stdio{Stdin: ends[0][0], Stdout: ends[1][1], Stderr: ends[2][1]}, ends[0][1], ends[1][0], ends[2][0]
}

// closeContainerEnds closes the test's copies of the ends the container
// was given, so that reading its output ends when the container's do.
func closeContainerEnds(s berth.Stdio) {
	s.Stdin.Close()
	s.Stdout.Close()
	s.Stderr.Close()
}

// keepSubreaper restores whether this process is a child subreaper when
// t ends: exec into a container's pid namespace makes the caller one, and
// the processes later tests orphan must not become ours.
func keepSubreaper(t *testing.T) {
	var was int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&was)), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, uintptr(was), 0, 0, 0) })
}

// readPipe reads r to its end.
func readPipe(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLibraryCreateStdioReachesContainer(t *testing.T) {
	e := newEnv(t)
	r := e.library()
	id := e.id()
	stdio, in, out, errOut := pipes(t)
	bundle := e.bundle([]string{"sh", "-c", `read line; echo "out:$line"; echo err:$line >&2`}, nil)
	if _, err := r.Create(id, berth.CreateOpts{Bundle: bundle, Stdio: stdio}); err != nil {
		t.Fatal(err)
	}
	closeContainerEnds(stdio)
	if err := r.Start(id); err != nil {
		t.Fatal(err)
	}
	if _, err := in.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if got := readPipe(t, out); got != "out:hello\n" {
		t.Errorf("stdout %q, want %q", got, "out:hello\n")
	}
	if got := readPipe(t, errOut); got != "err:hello\n" {
		t.Errorf("stderr %q, want %q", got, "err:hello\n")
	}
	if err := r.Delete(id, true); err != nil {
		t.Fatal(err)
	}
	e.noState(id)
}

func TestLibraryExecStdioReachesProcess(t *testing.T) {
	e := newEnv(t)
	r := e.library()
	id := e.id()
	e.must("run", "--detach", "--bundle", e.bundle([]string{"sleep", "1000"}, nil), id)
	keepSubreaper(t)
	p, err := r.ProcessOf(id)
	if err != nil {
		t.Fatal(err)
	}
	p.Args = []string{"sh", "-c", `read line; echo "out:$line"; echo err:$line >&2`}
	stdio, in, out, errOut := pipes(t)
	x, err := r.Exec(id, berth.ExecOpts{Process: p, Stdio: stdio})
	if err != nil {
		t.Fatal(err)
	}
	closeContainerEnds(stdio)
	if _, err := in.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if got := readPipe(t, out); got != "out:hello\n" {
		t.Errorf("stdout %q, want %q", got, "out:hello\n")
	}
	if got := readPipe(t, errOut); got != "err:hello\n" {
		t.Errorf("stderr %q, want %q", got, "err:hello\n")
	}
	if ps, err := x.Wait(); err != nil || berth.ExitCode(ps) != 0 {
		t.Errorf("exec'd process: %v, exit %d", err, berth.ExitCode(ps))
	}
	if err := r.Delete(id, true); err != nil {
		t.Fatal(err)
	}
	e.noState(id)
}

func TestLibraryNoStdioIsDevNull(t *testing.T) {
	e := newEnv(t)
	r := e.library()
	id := e.id()
	c, err := r.Create(id, berth.CreateOpts{Bundle: e.bundle([]string{"sleep", "1000"}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(id); err != nil {
		t.Fatal(err)
	}
	for fd := range 3 {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", c.State.Pid, fd))
		if err != nil || link != "/dev/null" {
			t.Errorf("container's fd %d is %q, %v; want /dev/null", fd, link, err)
		}
	}
	if err := r.Delete(id, true); err != nil {
		t.Fatal(err)
	}
}
