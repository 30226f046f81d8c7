package dockerapi_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// attachRaw sends an attach request on a connection of its own (with
// Upgrade: tcp when upgrade) and returns the response, the connection
// and its reader (a 101's stream is read there: it has no body).
func (e *env) attachRaw(id string, upgrade bool) (*http.Response, net.Conn, *bufio.Reader) {
	e.t.Helper()
	conn, err := net.Dial("unix", e.sock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	hdr := ""
	if upgrade {
		hdr = "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	fmt.Fprintf(conn, "POST /v1.50/containers/%s/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n%s\r\n", id, hdr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, conn, br
}

// demux splits Docker's multiplexed stream by stream id.
func demux(t *testing.T, r io.Reader) map[byte]string {
	t.Helper()
	out := map[byte]string{}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("read a frame header: %v", err)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("read a frame: %v", err)
		}
		out[hdr[0]] += string(p)
	}
}

// TestAttachRawStream attaches without Upgrade (200 and the raw
// connection) before the start, as a plain HTTP client may, and reads
// the container's output framed by stream.
func TestAttachRawStream(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	id := e.ok("create", e.ref, "sh", "-c", "echo out; echo err >&2; exit 2")
	resp, _, _ := e.attachRaw(id, false)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("attach: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _, body := e.request("POST", "/v1.50/containers/"+id+"/start", ""); code != 204 {
		t.Fatalf("start: %d %s", code, body)
	}
	got := demux(t, resp.Body)
	if got[1] != "out\n" || got[2] != "err\n" {
		t.Errorf("attached streams %q, want stdout \"out\\n\", stderr \"err\\n\"", got)
	}
	if code, _, body := e.request("POST", "/v1.50/containers/"+id+"/wait", ""); code != 200 || !strings.Contains(body, `"StatusCode":2`) {
		t.Errorf("wait: %d %s", code, body)
	}
	e.ok("rm", id)
	e.nothingLeft()
}

// TestAttachDropped drops a hijacked attach (101) mid-stream: the
// container runs on, berthd answers, and a second attach works.
func TestAttachDropped(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	id := e.ok("run", "-d", e.ref, "sh", "-c", "while true; do echo tick; sleep 0.1; done")
	resp, conn, br := e.attachRaw(id, true)
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "tcp" {
		t.Fatalf("attach: %d %v", resp.StatusCode, resp.Header)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 1 {
		t.Fatalf("first frame: %v %v", hdr, err)
	}
	conn.Close()
	if got := e.ok("inspect", "--format", "{{.State.Running}}", id); got != "true" {
		t.Errorf("after a dropped attach the container is not running: %q", got)
	}
	resp, _, _ = e.attachRaw(id, true)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("second attach: %d", resp.StatusCode)
	}
	e.ok("rm", "-f", id)
	e.nothingLeft()
}
