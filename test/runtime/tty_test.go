package runtime_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// openPty returns a new pty's master and slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// readAll reads from a pty master until EIO (the slave side closed) or
// the deadline.
func readAll(f *os.File, until string) string {
	var buf bytes.Buffer
	f.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		buf.Write(b[:n])
		if err != nil || (until != "" && strings.Contains(buf.String(), until)) {
			return buf.String()
		}
	}
}

// consoleSocket listens on a unix socket and returns its path and a
// channel that yields the first pty master received on it.
func consoleSocket(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *os.File, 1)
	go func() {
		defer l.Close()
		c, err := l.AcceptUnix()
		if err != nil {
			close(ch)
			return
		}
		defer c.Close()
		oob := make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 4096), oob)
		if err != nil {
			close(ch)
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) == 1 {
			if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
				ch <- os.NewFile(uintptr(fds[0]), "master")
				return
			}
		}
		close(ch)
	}()
	return path, ch
}

func TestConsoleSocket(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "tty; stty size; echo done"}, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}
	})
	id := e.id()
	e.fails("--console-socket is required", "create", "-b", b, id)
	sock, ch := consoleSocket(t)
	e.must("create", "-b", b, "--console-socket", sock, id)
	master := <-ch
	if master == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer master.Close()
	e.must("start", id)
	out := readAll(master, "done")
	if !strings.Contains(out, "/dev/pts/0") || !strings.Contains(out, "30 100") {
		t.Fatalf("console output %q", out)
	}
	e.waitStatus(id, specs.StateStopped)
}

func TestRunWithTerminal(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "tty; echo term=$TERM; exit 5"}, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.Env = append(s.Process.Env, "TERM=xterm")
	})
	master, slave := openPty(t)
	cmd := e.cmd("run", "-b", b, e.id())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := readAll(master, "term=xterm")
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Fatalf("run exit: %v (output %q)", err, out)
	}
	if !strings.Contains(out, "/dev/pts/0") || !strings.Contains(out, "term=xterm") {
		t.Fatalf("terminal output %q", out)
	}
}

// A foreground run with a terminal gives the process a pty it owns (the
// group is devpts' gid=, tty) with ONLCR cleared, as runc does; the
// runtime's own terminal, raw but for output processing, shows each "\n"
// as "\r\n" once. exec -t gets the same.
func TestRunTerminalOwnerAndNewlines(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		show := "stat -c '%u %g' $(tty); stty -a 2>/dev/null | grep -o -- '-*onlcr'"
		b := e.bundle([]string{"sh", "-c", show}, func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.User = specs.User{UID: 1000, GID: 1000}
		})
		check := func(args ...string) {
			master, slave := openPty(t)
			cmd := e.cmd(args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			out := readAll(master, "")
			if err := cmd.Wait(); err != nil || out != "1000 5\r\n-onlcr\r\n" {
				t.Errorf("%s: exit %v, output %q, want %q", args[0], err, out, "1000 5\r\n-onlcr\r\n")
			}
		}
		check("run", "-b", b, e.id())
		id := e.id()
		e.must("run", "-d", "-b", e.bundle([]string{"sleep", "100"}, nil), id)
		check("exec", "-t", "--user", "1000:1000", id, "sh", "-c", show)
	})
}
