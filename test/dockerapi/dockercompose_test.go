package dockerapi_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/moby/moby/api/types/container"
)

// dockerCompose is Debian's docker-compose 1.29 (Python, docker-py 5).
const dockerCompose = "/usr/bin/docker-compose"

// composeFile is a two-service project: web serves, from a named volume,
// a page it writes there on a user network's own internal subnet,
// published on 127.0.0.1; probe fetches it from web by its service name
// and prints it. The network is internal: nothing leaves the host.
const composeFile = `version: "2.4"
services:
  web:
    image: %[1]s
    command: ["sh", "-c", "echo %[2]s > /www/index.html && echo web serving && exec httpd -f -p 80 -h /www"]
    volumes:
      - data:/www
    ports:
      - "127.0.0.1:%[3]d:80"
    networks:
      - front
    init: true
  probe:
    image: %[1]s
    command: ["sh", "-c", "until wget -q -O /tmp/page http://web/; do sleep 0.2; done; echo probe got $$(cat /tmp/page); exec sleep 1000"]
    depends_on:
      - web
    networks:
      - front
    init: true
volumes:
  data:
    labels:
      team: compose
networks:
  front:
    internal: true
    labels:
      team: compose
    ipam:
      config:
        - subnet: %[4]s
`

// compose runs docker-compose for project p in dir with the test's
// environment.
func (e *env) compose(dir, p string, args ...string) (string, string, int) {
	e.t.Helper()
	return e.run(dockerCompose, nil, append([]string{"--ansi", "never", "-f", filepath.Join(dir, "docker-compose.yml"), "-p", p}, args...)...)
}

// composeOK runs docker-compose and fails the test unless it exits 0;
// it returns stdout.
func (e *env) composeOK(dir, p string, args ...string) string {
	e.t.Helper()
	out, errs, code := e.compose(dir, p, args...)
	if code != 0 {
		e.t.Fatalf("docker-compose %v: exit %d; stdout %q, stderr %q", args, code, out, errs)
	}
	return out
}

// freeLoopbackPort returns a loopback port nothing listens on now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCompose: docker-compose brings a two-service project (a named
// volume, an internal user network with its own subnet, a published
// loopback port) up detached; the page web serves from the volume
// answers on the published port and probe fetched it by web's service
// name; ps shows both services Up, logs shows what they printed, and
// down -v leaves no container, network or volume.
func TestCompose(t *testing.T) {
	if _, err := os.Stat(dockerCompose); err != nil {
		t.Skipf("no %s (hack/install-deps.sh installs Debian's docker-compose): %v", dockerCompose, err)
	}
	e := newEnv(t)
	_, subnet := e.newNetwork()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := fmt.Sprintf("bc%x", b)
	netName, volName := p+"_front", p+"_data"
	e.networks = append(e.networks, netName)
	page := "hello-" + p
	port := freeLoopbackPort(t)
	dir := t.TempDir()
	yml := fmt.Sprintf(composeFile, e.ref, page, port, subnet)
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	e.composeOK(dir, p, "up", "-d")
	logs := e.composeLogs(dir, p, "probe got "+page) // so web serves
	if !strings.Contains(logs, "web serving") {
		t.Errorf("docker-compose logs lacks web's line:\n%s", logs)
	}
	if got := e.getDirect(fmt.Sprintf("http://127.0.0.1:%d/", port)); got != page+"\n" {
		t.Errorf("GET on the published port: %q, want %q", got, page+"\n")
	}
	want := map[string][]string{"containers": {p + "_probe_1", p + "_web_1"}, "networks": {netName}, "volumes": {volName}}
	if got := e.projectObjects(p); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("the project's objects by label: %v, want %v", got, want)
	}

	// Compose moved each container off its network and back before the
	// start, with its short ID as an alias; Config.Volumes' /www is the
	// named volume's, not an anonymous one.
	var web []dcontainer.InspectResponse
	if err := json.Unmarshal([]byte(e.ok("inspect", p+"_web_1")), &web); err != nil || len(web) != 1 {
		t.Fatalf("inspect %s_web_1: %v", p, err)
	}
	w := web[0]
	if ep := w.NetworkSettings.Networks[netName]; string(w.HostConfig.NetworkMode) != netName || ep == nil || !ep.IPAddress.IsValid() ||
		!slices.Contains(ep.Aliases, "web") || !slices.Contains(ep.Aliases, w.ID[:12]) {
		t.Errorf("web's network: mode %s, endpoints %+v", w.HostConfig.NetworkMode, w.NetworkSettings.Networks)
	}
	if len(w.Mounts) != 1 || w.Mounts[0].Name != volName || w.Mounts[0].Destination != "/www" {
		t.Errorf("web's mounts: %+v", w.Mounts)
	}
	if got := e.ok("volume", "ls", "-q"); got != volName {
		t.Errorf("volumes while up: %q, want %s alone", got, volName)
	}

	ps := e.composeOK(dir, p, "ps")
	for _, svc := range []string{"web", "probe"} {
		if !tableHasRow(ps, p+"_"+svc+"_1", "Up") {
			t.Errorf("docker-compose ps shows no %s_%s_1 Up:\n%s", p, svc, ps)
		}
	}
	if !tableHasRow(ps, p+"_web_1", fmt.Sprintf("127.0.0.1:%d->80/tcp", port)) {
		t.Errorf("docker-compose ps shows no published port for web:\n%s", ps)
	}
	if got := lines(e.composeOK(dir, p, "ps", "--services")); !slices.Equal(got, []string{"probe", "web"}) {
		t.Errorf("docker-compose ps --services: %v", got)
	}
	n := e.netInspect(netName)
	if n["Internal"] != true || n["Labels"].(map[string]any)["com.docker.compose.project"] != p {
		t.Errorf("network inspect %s: %v", netName, n)
	}

	e.composeOK(dir, p, "down", "-v")
	if got := e.projectObjects(p); len(got["containers"])+len(got["networks"])+len(got["volumes"]) != 0 {
		t.Errorf("the project's objects after down -v: %v", got)
	}
	e.noNetwork(netName)
	e.noVolumes()
	e.nothingLeft()
}

// projectObjects names the containers, networks and volumes that the
// API lists with Compose project p's label, each sorted.
func (e *env) projectObjects(p string) map[string][]string {
	e.t.Helper()
	filter := url.QueryEscape(fmt.Sprintf(`{"label":["com.docker.compose.project=%s"]}`, p))
	var ctrs []struct{ Names []string }
	var nets []struct{ Name string }
	var vols struct{ Volumes []struct{ Name string } }
	out := map[string][]string{}
	for path, v := range map[string]any{"/containers/json?all=1&filters=": &ctrs, "/networks?filters=": &nets, "/volumes?filters=": &vols} {
		code, _, body := e.request("GET", path+filter, "")
		if err := json.Unmarshal([]byte(body), v); code != http.StatusOK || err != nil {
			e.t.Fatalf("GET %s: %d %s (%v)", path, code, body, err)
		}
	}
	for _, c := range ctrs {
		out["containers"] = append(out["containers"], strings.TrimPrefix(c.Names[0], "/"))
	}
	for _, n := range nets {
		out["networks"] = append(out["networks"], n.Name)
	}
	for _, v := range vols.Volumes {
		out["volumes"] = append(out["volumes"], v.Name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

// getDirect GETs u directly (no proxy) and returns the body.
func (e *env) getDirect(u string) string {
	e.t.Helper()
	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		e.t.Errorf("GET %s: %v", u, err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Errorf("GET %s: %s %q", u, resp.Status, body)
	}
	return string(body)
}

// composeLogs returns docker-compose logs once they hold want (probe
// prints it once it reached web), failing after a minute.
func (e *env) composeLogs(dir, p, want string) string {
	e.t.Helper()
	var out string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out = e.composeOK(dir, p, "logs", "--no-color")
		if strings.Contains(out, want) {
			return out
		}
	}
	e.t.Errorf("docker-compose logs never showed %q:\n%s", want, out)
	return out
}

// tableHasRow reports whether a line of table holds both name and what.
func tableHasRow(table, name, what string) bool {
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, name) && strings.Contains(l, what) {
			return true
		}
	}
	return false
}
