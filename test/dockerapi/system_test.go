package dockerapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/registrytest"
)

// dfRows runs docker system df and returns its rows by type as
// "total|active|size|reclaimable".
func (e *env) dfRows() map[string]string {
	e.t.Helper()
	rows := map[string]string{}
	for _, l := range strings.Split(e.ok("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}"), "\n") {
		typ, rest, _ := strings.Cut(l, "|")
		rows[typ] = rest
	}
	return rows
}

// TestSystemDF: docker system df counts the image, a stopped container
// (its writable layer reclaimable) and the volume it wrote 6 bytes to,
// -v lists each of them, the API's type filter leaves the other kinds
// out and refuses an unknown kind; after the container and volume are
// removed only the image is counted.
func TestSystemDF(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("run", "--name", "dfc", "-v", "dfvol:/data", e.ref, "sh", "-c", "echo hello > /data/f; echo written > /rw")
	rows := e.dfRows()
	if r := rows["Images"]; !strings.HasPrefix(r, "1|1|") || !strings.HasSuffix(r, "|0B (0%)") || strings.Contains(r, "|0B|") {
		t.Errorf("df Images row %q, want 1 image in use, of some size, none reclaimable", r)
	}
	if r := rows["Containers"]; !strings.HasPrefix(r, "1|0|") || strings.Contains(r, "|0B") {
		t.Errorf("df Containers row %q, want 1 stopped container with its writable layer's bytes reclaimable", r)
	}
	if r := rows["Local Volumes"]; r != "1|1|6B|0B (0%)" {
		t.Errorf("df Local Volumes row %q, want 1|1|6B|0B (0%%)", r)
	}
	if r := rows["Build Cache"]; r != "0|0|0B|0B" {
		t.Errorf("df Build Cache row %q, want 0|0|0B|0B", r)
	}
	verbose := e.ok("system", "df", "-v")
	for _, want := range []string{"test/busybox", "dfc", "dfvol", "6B", "Exited"} {
		if !strings.Contains(verbose, want) {
			t.Errorf("docker system df -v lacks %q:\n%s", want, verbose)
		}
	}

	code, _, body := e.request("GET", "/v1.50/system/df?type=volume", "")
	var du map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &du); code != http.StatusOK || err != nil ||
		string(du["Images"]) != "null" || string(du["Containers"]) != "null" || !strings.Contains(string(du["Volumes"]), `"dfvol"`) {
		t.Errorf("GET /system/df?type=volume: %d %s", code, body)
	}
	if code, _, body := e.request("GET", "/v1.50/system/df?type=layers", ""); code != http.StatusBadRequest || !strings.Contains(body, `"unknown object type: layers"`) {
		t.Errorf("GET /system/df?type=layers: %d %s, want 400 unknown object type", code, body)
	}

	e.ok("rm", "dfc")
	e.ok("volume", "rm", "dfvol")
	rows = e.dfRows()
	if rows["Containers"] != "0|0|0B|0B" || rows["Local Volumes"] != "0|0|0B|0B" || !strings.HasPrefix(rows["Images"], "1|0|") {
		t.Errorf("df after removing the container and volume: %v", rows)
	}
	e.ok("rmi", e.ref)
	e.nothingLeft()
	e.noVolumes()
}

// TestLoginPushPull: against a registry with htpasswd auth, a push
// without login is refused in one line, docker login with a wrong
// password fails in one line and with the right one succeeds, after
// which the CLI's stored credentials push a tagged image and pull it
// back after rmi.
func TestLoginPushPull(t *testing.T) {
	e := newEnv(t)
	auth := registrytest.Start(t, registrytest.Options{Username: "berth", Password: "s3cret"})
	pushed := auth.Host + "/authed/bb:v1"
	e.ok("pull", "-q", e.ref)
	e.ok("tag", e.ref, pushed)
	e.fails("unauthorized", "push", pushed)

	login := func(password string) (string, string, int) {
		return e.run(dockerCLI, strings.NewReader(password+"\n"), "login", "-u", "berth", "--password-stdin", auth.Host)
	}
	if out, stderr, code := login("wrong"); code != 1 || strings.Contains(strings.TrimSpace(stderr), "\n") ||
		!strings.Contains(stderr, "Error response from daemon: login to "+auth.Host+": HTTP 401") {
		t.Errorf("docker login with a wrong password: exit %d, stdout %q, stderr %q; want a one-line error, exit 1", code, out, stderr)
	}
	if out, stderr, code := login("s3cret"); code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if out := e.ok("push", pushed); !strings.Contains(out, "v1: digest: sha256:") {
		t.Errorf("docker push after login printed %q", out)
	}
	e.ok("rmi", pushed)
	if out := e.ok("pull", pushed); !strings.Contains(out, "Downloaded newer image for "+pushed) && !strings.Contains(out, "Image is up to date") {
		t.Errorf("docker pull after login printed %q", out)
	}
	if got := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}", auth.Host+"/authed/bb"); got != pushed {
		t.Errorf("images after the pull: %q, want %s", got, pushed)
	}
	e.ok("logout", auth.Host)
	e.ok("rmi", pushed, e.ref)
	e.nothingLeft()
}
