package streaming

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/container"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// client is how a test opens a remote command URL.
type client func(t *testing.T, u string) remotecommand.Executor

// spdyClient is client-go's SPDY executor (kubectl's, crictl's).
func spdyClient(t *testing.T, u string) remotecommand.Executor {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewSPDYExecutor(&rest.Config{}, "POST", pu)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// wsClient is client-go's WebSocket executor offering protocols.
func wsClient(protocols ...string) client {
	return func(t *testing.T, u string) remotecommand.Executor {
		t.Helper()
		ex, err := remotecommand.NewWebSocketExecutorForProtocols(&rest.Config{}, "GET", u, protocols...)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
}

// result is what a remote command gave back.
type result struct {
	out, errOut string
	err         error
}

// stream runs the executor with stdin (nil: none) and the given
// streams and terminal sizes.
func stream(t *testing.T, ex remotecommand.Executor, stdin io.Reader, stderr, tty bool, sizes ...remotecommand.TerminalSize) result {
	t.Helper()
	var out, errOut bytes.Buffer
	o := remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: tty}
	if stderr {
		o.Stderr = &errOut
	}
	if len(sizes) > 0 {
		o.TerminalSizeQueue = newSizeQueue(sizes)
	}
	err := ex.StreamWithContext(t.Context(), o)
	return result{out.String(), errOut.String(), err}
}

// sizeQueue hands out the given sizes, then ends.
type sizeQueue struct {
	ch chan *remotecommand.TerminalSize
}

func newSizeQueue(sizes []remotecommand.TerminalSize) *sizeQueue {
	q := &sizeQueue{ch: make(chan *remotecommand.TerminalSize, len(sizes))}
	for i := range sizes {
		q.ch <- &sizes[i]
	}
	close(q.ch)
	return q
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize { return <-q.ch }

// exitCode is the exit status err reports, -1 for none.
func exitCode(err error) int {
	var ee exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus()
	}
	return -1
}

// execURL asks the server for an exec URL.
func (v *env) execURL(t *testing.T, id string, cmd []string, stdin, stderr, tty bool) string {
	t.Helper()
	resp, err := v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: id, Cmd: cmd, Stdin: stdin, Stdout: true, Stderr: stderr, Tty: tty})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Url, "http://127.0.0.1:") {
		t.Fatalf("exec URL %q: want an absolute http URL on loopback", resp.Url)
	}
	return resp.Url
}

// TestExecSPDYEachProtocol runs commands over SPDY with each remote
// command protocol the server offers alone: stdout and stderr come
// back apart, stdin reaches the command (v2 on; v1 clients never close
// it), and a non-zero exit is reported (as an exit code from v4).
func TestExecSPDYEachProtocol(t *testing.T) {
	v := newEnv(t)
	c := v.run(container.Config{Name: "exec", Cmd: []string{"sleep", "3600"}})
	for _, p := range []string{protocolV1, protocolV2, protocolV3, protocolV4} {
		t.Run(p, func(t *testing.T) {
			v.srv.protocols = []string{p}
			u := v.execURL(t, c.ID, []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, false, true, false)
			r := stream(t, spdyClient(t, u), nil, true, false)
			if r.out != "out\n" || r.errOut != "err\n" {
				t.Errorf("stdout %q, stderr %q; want out, err", r.out, r.errOut)
			}
			switch p {
			case protocolV4:
				if exitCode(r.err) != 7 {
					t.Errorf("exit 7 gave %v (code %d), want code 7", r.err, exitCode(r.err))
				}
			case protocolV2, protocolV3:
				if r.err == nil || !strings.Contains(r.err.Error(), "exit code 7") {
					t.Errorf("exit 7 gave %v, want an error naming exit code 7", r.err)
				}
			}
			if p == protocolV1 {
				return
			}
			u = v.execURL(t, c.ID, []string{"cat"}, true, false, false)
			if r := stream(t, spdyClient(t, u), strings.NewReader("hello\n"), false, false); r.out != "hello\n" || r.err != nil {
				t.Errorf("cat: stdout %q, %v; want hello", r.out, r.err)
			}
		})
	}
}

// TestExecWebSocket runs commands over WebSocket with v5 (the kubelet's
// and apiserver's direct path) and v4: streams apart, stdin closed by
// v5's close signal, and the exit code.
func TestExecWebSocket(t *testing.T) {
	v := newEnv(t)
	c := v.run(container.Config{Name: "ws", Cmd: []string{"sleep", "3600"}})
	for _, p := range []string{protocolV5, protocolV4} {
		t.Run(p, func(t *testing.T) {
			u := v.execURL(t, c.ID, []string{"sh", "-c", "echo out; echo err >&2; exit 9"}, false, true, false)
			r := stream(t, wsClient(p)(t, u), nil, true, false)
			if r.out != "out\n" || r.errOut != "err\n" || exitCode(r.err) != 9 {
				t.Errorf("stdout %q, stderr %q, %v; want out, err, exit code 9", r.out, r.errOut, r.err)
			}
			if p != protocolV5 {
				return
			}
			u = v.execURL(t, c.ID, []string{"sh", "-c", "cat; echo done"}, true, false, false)
			if r := stream(t, wsClient(p)(t, u), strings.NewReader("hello\n"), false, false); r.out != "hello\ndone\n" || r.err != nil {
				t.Errorf("cat: stdout %q, %v; want hello, done", r.out, r.err)
			}
		})
	}
}

// resizeWait is a shell loop that waits for its terminal to be 40 rows
// by 100 columns, then says so and exits 3.
const resizeWait = `while [ "$(busybox stty size)" != "40 100" ]; do sleep 0.05; done; echo resized; exit 3`

// TestExecTTYResize runs a command on a terminal over SPDY v4 and
// WebSocket v5: the size the client sends reaches the terminal, the
// output comes through it, the exit code after.
func TestExecTTYResize(t *testing.T) {
	v := newEnv(t)
	c := v.run(container.Config{Name: "tty", Cmd: []string{"sleep", "3600"}})
	for name, cl := range map[string]client{"spdy": spdyClient, "websocket": wsClient(protocolV5)} {
		t.Run(name, func(t *testing.T) {
			u := v.execURL(t, c.ID, []string{"sh", "-c", resizeWait}, false, false, true)
			r := stream(t, cl(t, u), nil, false, true, remotecommand.TerminalSize{Width: 100, Height: 40})
			if !strings.Contains(r.out, "resized") || exitCode(r.err) != 3 {
				t.Errorf("stdout %q, %v; want resized, exit code 3", r.out, r.err)
			}
		})
	}
}

// TestAttach attaches over SPDY v4 and WebSocket v5 to containers that
// echo their stdin: what is sent comes back on stdout and stderr, the
// end of stdin ends the container and the attach; on a terminal the
// size sent reaches it.
func TestAttach(t *testing.T) {
	v := newEnv(t)
	echo := `while read l; do echo got $l; echo err $l >&2; done; echo bye`
	for name, cl := range map[string]client{"spdy": spdyClient, "websocket": wsClient(protocolV5)} {
		t.Run(name, func(t *testing.T) {
			c := v.run(container.Config{Name: "attach-" + name, OpenStdin: true, Cmd: []string{"sh", "-c", echo}})
			resp, err := v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: c.Name, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			r := stream(t, cl(t, resp.Url), strings.NewReader("hi\n"), true, false)
			if r.out != "got hi\nbye\n" || r.errOut != "err hi\n" || r.err != nil {
				t.Errorf("stdout %q, stderr %q, %v; want got hi, bye / err hi", r.out, r.errOut, r.err)
			}
			c = v.run(container.Config{Name: "attach-tty-" + name, OpenStdin: true, Tty: true, Cmd: []string{"sh", "-c", resizeWait}})
			resp, err = v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: c.ID, Stdout: true, Tty: true})
			if err != nil {
				t.Fatal(err)
			}
			r = stream(t, cl(t, resp.Url), nil, false, true, remotecommand.TerminalSize{Width: 100, Height: 40})
			if !strings.Contains(r.out, "resized") || r.err != nil {
				t.Errorf("tty attach: stdout %q, %v; want resized", r.out, r.err)
			}
		})
	}
}

// waitExec runs cmd in the container until it succeeds, for up to a
// minute.
func (v *env) waitExec(t *testing.T, id string, cmd ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if code, err := v.e.Exec(ctx, ns, id, execOpts(cmd), container.Stdio{}); err == nil && code == 0 {
			return
		}
	}
	t.Fatalf("%v never succeeded: %v", cmd, ctx.Err())
}

// signalWriter closes ch at its first write.
type signalWriter struct {
	once sync.Once
	ch   chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

func remotecommandOpts(stdout io.Writer) remotecommand.StreamOptions {
	return remotecommand.StreamOptions{Stdout: stdout}
}

// TestExecKilledWhenClientGoes: an exec whose client goes away is
// killed, as containerd's CRI does, instead of running on unseen.
func TestExecKilledWhenClientGoes(t *testing.T) {
	v := newEnv(t)
	c := v.run(container.Config{Name: "gone", Cmd: []string{"sleep", "3600"}})
	u := v.execURL(t, c.ID, []string{"sh", "-c", "echo $$ > /tmp/pid; echo ready; exec sleep 3600"}, false, false, false)
	ctx, cancel := context.WithCancel(t.Context())
	w := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- spdyClient(t, u).StreamWithContext(ctx, remotecommandOpts(w)) }()
	select {
	case <-w.ch:
	case err := <-done:
		t.Fatalf("exec ended early: %v", err)
	}
	cancel()
	<-done
	v.waitExec(t, c.ID, "sh", "-c", "! kill -0 $(cat /tmp/pid)")
}
