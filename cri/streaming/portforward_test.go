package streaming

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/container"
	gwebsocket "github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// podPort is where the test's web server listens, on the loopback of
// the container's network namespace only.
const podPort = 8080

// webPod runs a web server on the env's network serving body at / on
// 127.0.0.1:podPort in the container's namespace, and waits for it.
func (v *env) webPod(t *testing.T) (id, body string) {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	body = "hello from the pod " + hex.EncodeToString(b)
	c := v.run(container.Config{Name: "web", NetworkMode: v.network(), Cmd: []string{"sh", "-c",
		fmt.Sprintf("busybox mkdir /www && echo %s > /www/index.html && exec busybox httpd -f -p 127.0.0.1:%d -h /www", body, podPort)}})
	v.waitExec(t, c.ID, "busybox", "wget", "-q", "-O", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d/", podPort))
	return c.ID, body
}

// forwardURL asks the server for a port-forward URL.
func (v *env) forwardURL(t *testing.T, id string, ports ...int32) *url.URL {
	t.Helper()
	resp, err := v.srv.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: id, Port: ports})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(resp.Url)
	if err != nil || u.Scheme != "http" {
		t.Fatalf("port-forward URL %q: want an absolute http URL (%v)", resp.Url, err)
	}
	return u
}

// getThrough forwards a local port with client-go's port forwarder over
// dialer and fetches / through it.
func getThrough(t *testing.T, dialer streamhttp.Dialer) string {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	var out, errOut bytes.Buffer
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", podPort)}, stop, ready, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	defer func() {
		close(stop)
		<-done
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("forward: %v (%s)", err, errOut.String())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("forwarded ports %v, %v", ports, err)
	}
	// Two requests: each is a connection of its own.
	var got string
	for range 2 {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
		if err != nil {
			t.Fatalf("get through the forward: %v (%s)", err, errOut.String())
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = string(b)
	}
	return got
}

// TestPortForward fetches a page from a web server listening only on
// the loopback of a container's network namespace, with client-go's
// port forwarder over SPDY and over SPDY tunnelled in WebSocket, and
// with the kubelet's WebSocket channel framing.
func TestPortForward(t *testing.T) {
	v := newEnv(t)
	id, body := v.webPod(t)
	t.Run("spdy", func(t *testing.T) {
		rt, up, err := spdy.RoundTripperFor(&rest.Config{})
		if err != nil {
			t.Fatal(err)
		}
		d := spdy.NewDialerForStreaming(up, &http.Client{Transport: rt}, "POST", v.forwardURL(t, id))
		if got := getThrough(t, d); strings.TrimSpace(got) != body {
			t.Errorf("got %q, want %q", got, body)
		}
	})
	t.Run("websocket-tunnel", func(t *testing.T) {
		d, err := portforward.NewSPDYOverWebsocketDialerForStreaming(v.forwardURL(t, id), &rest.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if got := getThrough(t, d); strings.TrimSpace(got) != body {
			t.Errorf("got %q, want %q", got, body)
		}
	})
	t.Run("websocket-channels", func(t *testing.T) {
		data, errs := wsForward(t, v.forwardURL(t, id, podPort), podPort, "GET / HTTP/1.0\r\n\r\n")
		if !strings.HasPrefix(data, "HTTP/1.") || !strings.Contains(data, body) || errs != "" {
			t.Errorf("data %q, error channel %q; want the page", data, errs)
		}
	})
	t.Run("closed-port", func(t *testing.T) {
		_, errs := wsForward(t, v.forwardURL(t, id, podPort+1), podPort+1, "")
		if !strings.Contains(errs, fmt.Sprintf("an error occurred forwarding %d", podPort+1)) {
			t.Errorf("error channel %q: want the failure to connect", errs)
		}
	})
}

// wsForward opens a WebSocket port-forward of one port, checks each
// channel starts with the port, sends send on the data channel and
// returns what came back on the data and error channels until the
// server closed.
func wsForward(t *testing.T, u *url.URL, port uint16, send string) (data, errs string) {
	t.Helper()
	u.Scheme = "ws"
	d := gwebsocket.Dialer{Subprotocols: []string{pfProtocolChannel}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(t.Context(), u.String(), nil)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer resp.Body.Close()
	defer conn.Close()
	if send != "" {
		if err := conn.WriteMessage(gwebsocket.BinaryMessage, append([]byte{0}, send...)); err != nil {
			t.Fatal(err)
		}
	}
	var out [2]bytes.Buffer
	prefixed := [2]bool{}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			break
		}
		if len(msg) == 0 || msg[0] > 1 {
			t.Fatalf("message on an unexpected channel: %q", msg)
		}
		ch, payload := msg[0], msg[1:]
		if !prefixed[ch] {
			if len(payload) != 2 || binary.LittleEndian.Uint16(payload) != port {
				t.Fatalf("channel %d opened with %q, want the port", ch, payload)
			}
			prefixed[ch] = true
			continue
		}
		out[ch].Write(payload)
	}
	return out[0].String(), out[1].String()
}
