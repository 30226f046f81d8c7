package dockerapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPublishedPorts: `docker run -d -p 127.0.0.1:PORT:80` answers on the
// loopback port, `docker port` and `docker ps` show the mapping; a port
// another process holds, and one another container publishes, are
// refused in one line naming the port, with exit 125, before a container
// exists (dockerd creates it and fails its start), and nothing is left.
func TestPublishedPorts(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	port := freeLoopbackPort(t)
	id := e.ok("run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), e.ref,
		"sh", "-c", "echo published > /tmp/index.html; exec busybox httpd -f -p 80 -h /tmp")
	if got := waitGet(fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "published\n" {
		t.Errorf("GET on the published port: %q", got)
	}
	if out := e.ok("port", "web"); out != fmt.Sprintf("80/tcp -> 127.0.0.1:%d", port) {
		t.Errorf("docker port: %q", out)
	}
	if out := e.ok("ps", "--format", "{{.Ports}}"); out != fmt.Sprintf("127.0.0.1:%d->80/tcp", port) {
		t.Errorf("docker ps ports: %q", out)
	}

	// Taken by berthd's own container, then by another process.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for i, taken := range []int{port, held.Addr().(*net.TCPAddr).Port} {
		name := fmt.Sprintf("second%d", i)
		_, stderr, code := e.docker("run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", taken), e.ref, "sleep", "1000")
		if code != 125 || !strings.Contains(stderr, fmt.Sprintf("127.0.0.1:%d", taken)) || !strings.Contains(stderr, "already") {
			t.Errorf("docker run -p on a taken port %d: exit %d, %q; want 125 naming the port", taken, code, stderr)
		}
		t.Logf("taken port %d: %s", taken, stderr)
		if got := e.ok("ps", "-a", "-q", "--filter", "name="+name); got != "" {
			t.Errorf("a container refused its port is left: %q", got)
		}
	}
	e.ok("rm", "-f", strings.TrimSpace(id))
	e.nothingLeft()
}

// waitGet GETs u directly (no proxy) until it answers 200, while the
// server starts; it returns the body, or the last error's text.
func waitGet(u string) string {
	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}
	var last string
	for range 100 {
		resp, err := c.Get(u)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}
