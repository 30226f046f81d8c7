package streaming

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
	gwebsocket "github.com/gorilla/websocket"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestGetRequestsValidated: requests the kubelet and containerd refuse
// are refused with the error kind the CRI server maps to the gRPC code
// (unknown container or sandbox: NotFound; no stream, terminal with
// stderr, no command, a port out of range: InvalidArgument; a container
// that does not run or a sandbox without a namespace:
// FailedPrecondition), and a token serves once.
func TestGetRequestsValidated(t *testing.T) {
	v := newEnv(t)
	run := v.run(container.Config{Name: "up", Cmd: []string{"sleep", "3600"}})
	created, err := v.e.CreateContainer(t.Context(), ns, container.Config{Name: "created", Image: v.image, NetworkMode: "none", Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	sh := []string{"sh"}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"nil exec", err1(v.srv.GetExec(nil)), errdefs.ErrInvalidArgument},
		{"unknown container", err1(v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: "nosuch", Cmd: sh, Stdout: true})), errdefs.ErrNotFound},
		{"no container", err1(v.srv.GetExec(&runtimeapi.ExecRequest{Cmd: sh, Stdout: true})), errdefs.ErrInvalidArgument},
		{"no command", err1(v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: run.ID, Stdout: true})), errdefs.ErrInvalidArgument},
		{"no stream", err1(v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: run.ID, Cmd: sh})), errdefs.ErrInvalidArgument},
		{"tty and stderr", err1(v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: run.ID, Cmd: sh, Tty: true, Stdout: true, Stderr: true})), errdefs.ErrInvalidArgument},
		{"not running", err1(v.srv.GetExec(&runtimeapi.ExecRequest{ContainerId: created.ID, Cmd: sh, Stdout: true})), errdefs.ErrFailedPrecondition},
		{"nil attach", err1(v.srv.GetAttach(nil)), errdefs.ErrInvalidArgument},
		{"attach unknown", err1(v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: "nosuch", Stdout: true})), errdefs.ErrNotFound},
		{"attach no stream", err1(v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: run.ID})), errdefs.ErrInvalidArgument},
		{"attach tty and stderr", err1(v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: run.ID, Tty: true, Stderr: true})), errdefs.ErrInvalidArgument},
		{"nil port-forward", err1(v.srv.GetPortForward(nil)), errdefs.ErrInvalidArgument},
		{"port out of range", err1(v.srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: run.ID, Port: []int32{70000}})), errdefs.ErrInvalidArgument},
		{"unknown sandbox", err1(v.srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "nosuch"})), errdefs.ErrNotFound},
		{"sandbox without netns", err1(v.srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: run.ID})), errdefs.ErrFailedPrecondition},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}

	u := v.execURL(t, run.ID, sh, false, false, false)
	for i, want := range []int{http.StatusBadRequest, http.StatusNotFound} {
		resp, err := http.Get(u) // no upgrade: refused, and the token is spent
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("use %d of a token: HTTP %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	attach, err := v.srv.GetAttach(&runtimeapi.AttachRequest{ContainerId: run.ID, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	wrongKind := strings.Replace(attach.Url, "/attach/", "/exec/", 1)
	if resp, err := http.Get(wrongKind); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an attach token on /exec: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
}

// err1 is the error of a (value, error) pair.
func err1[T any](_ T, err error) error { return err }

// TestTokensExpireAndServerLifecycle: a URL not opened in time is
// refused, Get calls before Start are unavailable, a bad address is
// refused by New, and Stop is idempotent.
func TestTokensExpireAndServerLifecycle(t *testing.T) {
	v := newEnv(t)
	run := v.run(container.Config{Name: "up", Cmd: []string{"sleep", "3600"}})
	if _, err := New(v.e, ns, Config{Addr: "no-port"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("New with a bad address: %v, want invalid argument", err)
	}
	s, err := New(v.e, ns, Config{TokenTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	req := &runtimeapi.ExecRequest{ContainerId: run.ID, Cmd: []string{"true"}, Stdout: true}
	if _, err := s.GetExec(req); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("GetExec before Start: %v, want unavailable", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	resp, err := s.GetExec(req)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // past the TTL
	r, err := http.Get(resp.Url)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("expired token: HTTP %d, want 404", r.StatusCode)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if _, err := s.GetExec(req); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("GetExec after Stop: %v, want unavailable", err)
	}
}

// TestStopEndsOpenStreams: Stop ends a running exec's stream and
// returns once its session is over.
func TestStopEndsOpenStreams(t *testing.T) {
	v := newEnv(t)
	run := v.run(container.Config{Name: "up", Cmd: []string{"sleep", "3600"}})
	u := v.execURL(t, run.ID, []string{"sh", "-c", "echo ready; exec sleep 3600"}, false, false, false)
	w := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- spdyClient(t, u).StreamWithContext(t.Context(), remotecommandOpts(w))
	}()
	select {
	case <-w.ch:
	case err := <-done:
		t.Fatalf("exec ended before Stop: %v", err)
	}
	if err := v.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	<-done // the client sees the end of its streams
}

// TestBadStreamRequests: a wrong method, a SPDY protocol the server
// does not speak, a WebSocket subprotocol it does not know and a
// WebSocket port-forward without ports are refused with an HTTP error
// (x/net/websocket answers a refused subprotocol with 403),
// too many ports by GetPortForward, and the server serves on.
func TestBadStreamRequests(t *testing.T) {
	v := newEnv(t)
	run := v.run(container.Config{Name: "up", Cmd: []string{"sleep", "3600"}})
	ports := make([]int32, maxPorts+1)
	for i := range ports {
		ports[i] = int32(i + 1)
	}
	if _, err := v.srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: run.ID, Port: ports}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("%d ports: %v, want invalid argument", len(ports), err)
	}
	echo := []string{"echo", "ok"}
	u := v.execURL(t, run.ID, echo, false, false, false)
	req, _ := http.NewRequest(http.MethodPut, u, nil)
	if code := httpStatus(t, req); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: HTTP %d, want 405", code)
	}
	req, _ = http.NewRequest(http.MethodPost, v.execURL(t, run.ID, echo, false, false, false), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	req.Header.Set("X-Stream-Protocol-Version", "v9.channel.k8s.io")
	if code := httpStatus(t, req); code != http.StatusForbidden {
		t.Errorf("unknown SPDY protocol: HTTP %d, want 403", code)
	}
	for name, c := range map[string]struct {
		u     string
		proto string
		want  int
	}{
		"unknown subprotocol":    {v.execURL(t, run.ID, echo, false, false, false), "v9.channel.k8s.io", http.StatusForbidden},
		"port-forward, no ports": {hostPF(t, v).Url, pfProtocolChannel, http.StatusBadRequest},
	} {
		wu := "ws" + strings.TrimPrefix(c.u, "http")
		d := gwebsocket.Dialer{Subprotocols: []string{c.proto}, HandshakeTimeout: 10 * time.Second}
		conn, resp, err := d.DialContext(t.Context(), wu, nil)
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil {
			conn.Close()
			t.Errorf("%s: the WebSocket opened", name)
		} else if resp == nil || resp.StatusCode != c.want {
			t.Errorf("%s: %v %v, want HTTP %d", name, resp, err, c.want)
		}
	}
	if r := stream(t, spdyClient(t, v.execURL(t, run.ID, echo, false, false, false)), nil, false, false); r.out != "ok\n" || r.err != nil {
		t.Errorf("after bad requests: %q %v", r.out, r.err)
	}
}

// httpStatus sends req and returns its HTTP status.
func httpStatus(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// hostPF is a port-forward URL, without ports, from a second server
// whose sandboxes are on the host's network.
func hostPF(t *testing.T, v *env) *runtimeapi.PortForwardResponse {
	t.Helper()
	s, err := New(v.e, ns, Config{SandboxNetNS: func(string) (string, error) { return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "host-pod"})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
