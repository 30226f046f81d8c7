package dockerapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	dcontainer "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

// ptyCLI is the Docker CLI run on a pseudo-terminal of its own, as a
// user's shell runs it.
type ptyCLI struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	ctx    context.Context // ends cliTimeout after the start
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{} // closed when the terminal's output ended
}

// dockerPty starts the Docker CLI with args on a rows×cols terminal
// that is its controlling one; a CLI that hangs is killed after
// cliTimeout.
func (e *env) dockerPty(rows, cols uint16, args ...string) *ptyCLI {
	e.t.Helper()
	master, slave := testutil.OpenPty(e.t, rows, cols)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	p := &ptyCLI{t: e.t, master: master, ctx: ctx, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, dockerCLI, args...)
	p.cmd.Env = e.cliEnv()
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	slave.Close()
	e.t.Cleanup(func() {
		cancel()
		master.Close()
	})
	go p.read()
	return p
}

func (p *ptyCLI) read() {
	defer close(p.done)
	b := make([]byte, 4096)
	for {
		n, err := p.master.Read(b)
		p.mu.Lock()
		p.out.Write(b[:n])
		p.mu.Unlock()
		if err != nil { // EIO once the CLI closed the terminal
			return
		}
	}
}

func (p *ptyCLI) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the terminal shows s; it fails the test if the
// CLI ends first.
func (p *ptyCLI) waitFor(s string) {
	p.t.Helper()
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.done:
			if strings.Contains(p.output(), s) {
				return
			}
			p.t.Fatalf("the CLI ended before printing %q: %q", s, p.output())
		case <-p.ctx.Done():
			p.t.Fatalf("the CLI hung waiting for %q: %q", s, p.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// shows says whether the terminal shows s within d; it fails the test if
// the CLI ends first.
func (p *ptyCLI) shows(s string, d time.Duration) bool {
	p.t.Helper()
	deadline := time.After(d)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.done:
			if strings.Contains(p.output(), s) {
				return true
			}
			p.t.Fatalf("the CLI ended before printing %q: %q", s, p.output())
		case <-deadline:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// resize sizes the terminal as a user's window change does: the CLI
// gets SIGWINCH.
func (p *ptyCLI) resize(rows, cols uint16) {
	p.t.Helper()
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *ptyCLI) write(s string) {
	p.t.Helper()
	if _, err := p.master.WriteString(s); err != nil {
		p.t.Fatal(err)
	}
}

// wait returns the CLI's exit code.
func (p *ptyCLI) wait() int {
	p.t.Helper()
	err := p.cmd.Wait()
	<-p.done
	if p.ctx.Err() != nil {
		p.t.Fatalf("the CLI hung: %q", p.output())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return 0
}

// resizeScript prints the terminal's size, then again at each window
// change, until a line is typed; it exits 7. It says ready only once
// its trap is set: a window change before that would be lost.
const resizeScript = `test -t 0 && busybox stty size && trap 'echo size:$(busybox stty size)' WINCH && echo ready; ` +
	`while ! read -t 1 line; do :; done; echo got:$line; exit 7`

// checkTerminal drives resizeScript on p: the terminal starts at 33×111,
// the window is made 40×120 and the container sees it.
func checkTerminal(t *testing.T, p *ptyCLI, what string) {
	t.Helper()
	p.waitFor("ready")
	if out := p.output(); !strings.Contains(out, "33 111") {
		t.Errorf("%s: the terminal's first size is not the client's 33 111: %q", what, out)
	}
	// The size the container's shell reports after its SIGWINCH. The
	// CLI's own first resize (of the size it read at its start) goes on
	// another connection and can land after this change, as it can with
	// dockerd: like a user, the test changes the window again then.
	p.resize(40, 120)
	for try := 1; !p.shows("size:40 120", 5*time.Second); try++ {
		if try == 3 {
			t.Fatalf("%s: the container never saw the window at 40 120: %q", what, p.output())
		}
		t.Logf("%s: the container did not see 40 120 (a late first resize?), changing the window again: %q", what, p.output())
		p.resize(41, 121)
		p.resize(40, 120)
	}
	p.write("hello\r")
	if code := p.wait(); code != 7 {
		t.Errorf("%s: exit %d, want 7; output %q", what, code, p.output())
	}
	if out := p.output(); !strings.Contains(out, "got:hello") || strings.Contains(out, "failed to resize") {
		t.Errorf("%s: the line typed did not reach the container, or a resize failed: %q", what, out)
	}
}

// TestTerminal runs `docker run -it` and `docker exec -it` on a real
// pseudo-terminal: the container's terminal has the client's size from
// the start, follows a window change, and passes keystrokes through.
func TestTerminal(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	checkTerminal(t, e.dockerPty(33, 111, "run", "--rm", "-it", e.ref, "sh", "-c", resizeScript), "docker run -it")

	e.ok("run", "-d", "--name", "x", e.ref, "sleep", "1000")
	checkTerminal(t, e.dockerPty(33, 111, "exec", "-it", "x", "sh", "-c", resizeScript), "docker exec -it")
	e.ok("rm", "-f", "x")
	e.nothingLeft()
}

// hijackRaw posts body to path with Upgrade: tcp on a connection of its
// own and returns the response and the reader of its stream.
func (e *env) hijackRaw(path, body string) (*http.Response, *bufio.Reader) {
	e.t.Helper()
	conn, err := net.Dial("unix", e.sock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, len(body), body)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, br
}

// createExec makes an exec in container name and returns its ID.
func (e *env) createExec(name, body string) string {
	e.t.Helper()
	code, _, out := e.request("POST", "/v1.50/containers/"+name+"/exec", body)
	var created dcontainer.ExecCreateResponse
	if code != 201 || json.Unmarshal([]byte(out), &created) != nil {
		e.t.Fatalf("exec create: %d %s", code, out)
	}
	return created.ID
}

// TestTerminalSizes checks, with no resize from a client to help, that a
// terminal starts at the size asked for: a create's ConsoleSize, an exec
// start's ConsoleSize, and a resize sent before the exec's start.
func TestTerminalSizes(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	code, _, body := e.request("POST", "/v1.50/containers/create",
		`{"Image":"`+e.ref+`","Cmd":["busybox","stty","size"],"Tty":true,"HostConfig":{"ConsoleSize":[21,77]}}`)
	var created dcontainer.CreateResponse
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	resp, _, br := e.attachRaw(created.ID, true)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Fatalf("attach: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _, body := e.request("POST", "/v1.50/containers/"+created.ID+"/start", ""); code != 204 {
		t.Fatalf("start: %d %s", code, body)
	}
	if out, err := io.ReadAll(br); err != nil || strings.TrimSpace(string(out)) != "21 77" {
		t.Errorf("a container created with ConsoleSize [21, 77] reports %q (%v)", out, err)
	}

	e.ok("run", "-d", "--name", "x", e.ref, "sleep", "1000")
	for _, c := range []struct{ resize, start, want string }{
		{"", `{"Tty":true,"ConsoleSize":[22,78]}`, "22 78"},
		{"h=23&w=79", `{"Tty":true}`, "23 79"},
	} {
		id := e.createExec("x", `{"Cmd":["busybox","stty","size"],"Tty":true,"AttachStdout":true}`)
		if c.resize != "" {
			if code, _, body := e.request("POST", "/v1.50/exec/"+id+"/resize?"+c.resize, ""); code != 200 {
				t.Errorf("resize before the start: %d %s", code, body)
			}
		}
		resp, br := e.hijackRaw("/v1.50/exec/"+id+"/start", c.start)
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
			t.Fatalf("exec start: %d %v", resp.StatusCode, resp.Header)
		}
		if out, err := io.ReadAll(br); err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Errorf("exec (resize %q, start %s) reports %q (%v), want %q", c.resize, c.start, out, err, c.want)
		}
		if _, x := e.inspectExec(id); x.Running || x.ExitCode == nil || *x.ExitCode != 0 || !x.ProcessConfig.Tty {
			t.Errorf("exec inspect after its stream ended: %+v", x)
		}
	}
	e.ok("rm", "-f", "x", created.ID)
	e.nothingLeft()
}
