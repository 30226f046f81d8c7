package dockerapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestVersionNegotiation checks /_ping's headers (HEAD and GET), the
// versioned and unversioned paths, Docker's 400 for a version out of
// range, and what the CLI's version and info print.
func TestVersionNegotiation(t *testing.T) {
	e := newEnv(t)
	for _, method := range []string{"HEAD", "GET"} {
		code, h, body := e.request(method, "/_ping", "")
		if code != 200 || h.Get("Api-Version") != "1.50" || h.Get("Ostype") != "linux" || h.Get("Docker-Experimental") != "false" ||
			h.Get("Cache-Control") == "" || h.Get("Pragma") != "no-cache" || h.Get("Builder-Version") == "" {
			t.Errorf("%s /_ping: %d %v", method, code, h)
		}
		if want := map[string]string{"HEAD": "", "GET": "OK"}[method]; body != want {
			t.Errorf("%s /_ping body %q, want %q", method, body, want)
		}
	}
	for _, path := range []string{"/version", "/v1.24/version", "/v1.50/version"} {
		code, _, body := e.request("GET", path, "")
		var v struct{ ApiVersion, MinAPIVersion, Os string }
		if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.ApiVersion != "1.50" || v.MinAPIVersion != "1.24" || v.Os != "linux" {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	for path, want := range map[string]string{
		"/v1.51/version": "client version 1.51 is too new. Maximum supported API version is 1.50",
		"/v1.12/version": "client version 1.12 is too old. Minimum supported API version is 1.24",
	} {
		code, _, body := e.request("GET", path, "")
		if code != 400 || !strings.Contains(errMessage(t, body), want) {
			t.Errorf("GET %s: %d %s, want 400 %q", path, code, body, want)
		}
	}
	if got := e.ok("version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Client.APIVersion}}"); got != "1.50 1.24 1.50" {
		t.Errorf("docker version: %q", got)
	}
	if got := e.ok("info", "--format", "{{.OSType}} {{.Containers}} {{.Images}}"); got != "linux 0 0" {
		t.Errorf("docker info: %q", got)
	}
}

// TestNotServed checks that an endpoint berthd does not serve yet
// answers 501 and an unknown path 404, both as Docker's JSON error.
func TestNotServed(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]int{"/v1.50/swarm": 501, "/plugins": 501, "/no/such/thing": 404} {
		code, h, body := e.request("GET", path, "")
		if code != want || h.Get("Content-Type") != "application/json" || errMessage(t, body) == "" {
			t.Errorf("GET %s: %d %q %s, want %d with a JSON message", path, code, h.Get("Content-Type"), body, want)
		}
	}
}

// errMessage is a Docker error body's message.
func errMessage(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Errorf("not Docker's JSON error: %q: %v", body, err)
	}
	return m.Message
}

// TestPullAndRunRm pulls busybox from the loopback registry with the
// CLI (its progress stream rendered), lists and inspects it, and runs
// `docker run --rm` whose exit code and split output reach the caller;
// the container is gone afterwards.
func TestPullAndRunRm(t *testing.T) {
	e := newEnv(t)
	out := e.ok("pull", e.ref)
	if !strings.Contains(out, "Pull complete") || !strings.Contains(out, "Status: Downloaded newer image for "+e.ref) {
		t.Errorf("docker pull printed %q", out)
	}
	if got := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); got != e.ref {
		t.Errorf("docker images: %q, want %q", got, e.ref)
	}
	if got := e.ok("image", "inspect", "--format", "{{.Os}} {{len .RootFS.Layers}}", e.ref); got != "linux 1" {
		t.Errorf("docker image inspect: %q", got)
	}
	stdout, stderr, code := e.docker("run", "--rm", e.ref, "sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || stdout != "out\n" || stderr != "err\n" {
		t.Errorf("docker run --rm: exit %d, stdout %q, stderr %q; want 3, \"out\\n\", \"err\\n\"", code, stdout, stderr)
	}
	// Resources the CLI sends in HostConfig reach the process.
	out = e.ok("run", "--rm", "--cpuset-cpus", "0", "--memory", "64m", "--memory-swap", "128m", "--oom-score-adj", "300",
		e.ref, "sh", "-c", "cat /proc/1/oom_score_adj; grep Cpus_allowed_list /proc/1/status")
	if out != "300\nCpus_allowed_list:\t0" {
		t.Errorf("docker run with cpuset and oom-score-adj: %q", out)
	}
	if _, stderr, code := e.docker("run", "--rm", "--memory", "64m", "--memory-swap", "32m", e.ref, "true"); code != 125 ||
		!strings.Contains(stderr, "Error response from daemon: Minimum memoryswap limit should be larger than memory limit") {
		t.Errorf("docker run --memory-swap below --memory: exit %d, %q", code, stderr)
	}
	e.nothingLeft()
}

// TestRunPullsMissingImage has `docker run` find the image missing (a
// 404 the CLI answers with a pull) and run it, without --rm; the record
// stays until rm.
func TestRunPullsMissingImage(t *testing.T) {
	e := newEnv(t)
	stdout, stderr, code := e.docker("run", "--name", "once", e.ref, "echo", "hi")
	if code != 0 || stdout != "hi\n" || !strings.Contains(stderr, "Unable to find image") {
		t.Fatalf("docker run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := e.ok("ps", "-a", "--format", "{{.Names}} {{.State}}"); got != "once exited" {
		t.Errorf("docker ps -a: %q", got)
	}
	if got := e.ok("wait", "once"); got != "0" {
		t.Errorf("docker wait on an exited container: %q", got)
	}
	e.ok("rm", "once")
	e.nothingLeft()
}

// TestDetachedLifecycle runs a detached container and follows it through
// ps, logs, inspect, berth's own ps, stop, wait and rm.
func TestDetachedLifecycle(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	id := e.ok("run", "-d", "--name", "web", "--label", "tier=front", "-e", "GREETING=hello", e.ref,
		"sh", "-c", "echo $GREETING; echo oops >&2; exec sleep 1000")
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q, want an ID", id)
	}
	if got := e.ok("ps", "--format", "{{.ID}} {{.Names}} {{.Label \"tier\"}}"); got != id[:12]+" web front" {
		t.Errorf("docker ps: %q", got)
	}
	if got := e.ok("ps", "-q", "--filter", "status=exited"); got != "" {
		t.Errorf("docker ps --filter status=exited: %q", got)
	}
	if got := e.ok("ps", "-q", "--filter", "label=tier=front", "--filter", "name=we"); got != id[:12] {
		t.Errorf("docker ps --filter label, name: %q", got)
	}
	if out, _, _ := e.run(e.berthPath(), nil, "ps", "--format", "{{.Names}}"); strings.TrimSpace(out) != "web" {
		t.Errorf("berth ps does not show docker's container: %q", out)
	}
	if got := e.ok("inspect", "--format", "{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Image}} {{index .Config.Labels \"tier\"}}", "web"); got != "running true /web "+e.ref+" front" {
		t.Errorf("docker inspect: %q", got)
	}
	e.waitLogs("web", "hello\n", "oops\n")
	// The two lines come through two pipes: which is last is the
	// container's race.
	stdout, stderr, _ := e.docker("logs", "--timestamps", "--tail", "1", "web")
	lastOK := strings.HasSuffix(stdout, " hello\n") || strings.HasSuffix(stderr, " oops\n")
	if line := stdout + stderr; strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "20") || !lastOK {
		t.Errorf("docker logs --timestamps --tail 1: stdout %q, stderr %q", stdout, stderr)
	}
	e.ok("stop", "-t", "1", "web")
	if got := e.ok("wait", "web"); got != "137" {
		t.Errorf("docker wait after stop: %q, want 137 (sh ignores SIGTERM as PID 1; killed)", got)
	}
	if got := e.ok("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id); got != "exited 137" {
		t.Errorf("docker inspect after stop: %q", got)
	}
	e.ok("rm", "web")

	// logs -f follows a running container to its exit: what it prints
	// after the CLI attached arrives, and the CLI ends with the container.
	e.ok("run", "-d", "--name", "chatty", e.ref, "sh", "-c", "echo one; sleep 1; echo two")
	e.waitLogs("chatty", "one\n", "")
	if out := e.ok("logs", "-f", "chatty"); out != "one\ntwo" {
		t.Errorf("docker logs -f: %q, want one and two", out)
	}
	e.ok("rm", "chatty")
	e.nothingLeft()
}

// berthPath is the berth CLI built next to berthd.
func (e *env) berthPath() string { return bin + "/berth" }

// waitLogs polls `docker logs` until it shows what the container
// printed (it runs detached: its output comes when it comes).
func (e *env) waitLogs(name, wantOut, wantErr string) {
	e.t.Helper()
	var stdout, stderr string
	for range 200 {
		stdout, stderr, _ = e.docker("logs", name)
		if stdout == wantOut && stderr == wantErr {
			return
		}
	}
	e.t.Errorf("docker logs %s: stdout %q, stderr %q; want %q, %q", name, stdout, stderr, wantOut, wantErr)
}

// TestKillAndForceRemove checks kill, rm of a running container (409
// with Docker's message), rm -f, and kill of a stopped one (409).
func TestKillAndForceRemove(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("run", "-d", "--name", "k", e.ref, "sleep", "1000")
	if _, stderr, code := e.docker("rm", "k"); code == 0 || !strings.Contains(stderr, "stop the container before removing or force remove") {
		t.Errorf("docker rm of a running container: exit %d, %q", code, stderr)
	}
	e.ok("kill", "-s", "TERM", "k") // sleep as PID 1 ignores SIGTERM: it runs on
	e.ok("kill", "k")
	if got := e.ok("wait", "k"); got != "137" {
		t.Errorf("docker wait after kill: %q", got)
	}
	if _, stderr, code := e.docker("kill", "k"); code == 0 || !strings.Contains(stderr, "is not running") {
		t.Errorf("docker kill of a stopped container: exit %d, %q", code, stderr)
	}
	e.ok("run", "-d", "--name", "f", e.ref, "sleep", "1000")
	e.ok("rm", "-f", "f", "k")
	e.nothingLeft()
}

// TestBadInput checks Docker's statuses and JSON errors for a malformed
// body, an unknown container, a name in use and an image that does not
// exist, and that none of them leaves anything behind.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	code, _, body := e.request("POST", "/v1.50/containers/create", `{"Image": `)
	if code != 400 || !strings.Contains(errMessage(t, body), "malformed JSON") {
		t.Errorf("malformed create body: %d %s", code, body)
	}
	code, _, body = e.request("POST", "/v1.50/containers/create", `{}`)
	if code != 400 || errMessage(t, body) == "" {
		t.Errorf("create without an image: %d %s", code, body)
	}
	for _, req := range [][2]string{{"GET", "/containers/nosuch/json"}, {"POST", "/containers/nosuch/start"}, {"POST", "/containers/nosuch/wait"},
		{"DELETE", "/containers/nosuch"}, {"GET", "/containers/nosuch/logs?stdout=1"}, {"POST", "/containers/nosuch/attach?stream=1&stdout=1"}} {
		code, _, body := e.request(req[0], req[1], "")
		if code != 404 || !strings.Contains(errMessage(t, body), "nosuch") {
			t.Errorf("%s %s: %d %s, want 404", req[0], req[1], code, body)
		}
	}
	if _, stderr, code := e.docker("inspect", "nosuch"); code == 0 || !strings.Contains(stderr, "nosuch") {
		t.Errorf("docker inspect nosuch: exit %d, %q", code, stderr)
	}
	code, _, body = e.request("GET", "/containers/json?filters=%7Bbad", "")
	if code != 400 || errMessage(t, body) == "" {
		t.Errorf("bad filters: %d %s", code, body)
	}
	code, _, body = e.request("POST", "/images/create?fromImage="+e.reg.Host+"/test/busybox&tag=nosuchtag", "")
	if code != 404 || errMessage(t, body) == "" {
		t.Errorf("pull of a missing tag: %d %s, want 404", code, body)
	}
	if _, stderr, code := e.docker("run", "--rm", e.reg.Host+"/test/nosuch:v1", "true"); code != 125 || stderr == "" {
		t.Errorf("docker run of a missing image: exit %d, %q; want 125", code, stderr)
	}
	e.ok("pull", "-q", e.ref)
	e.ok("create", "--name", "taken", e.ref, "true")
	if _, stderr, code := e.docker("create", "--name", "taken", e.ref, "true"); code == 0 || !strings.Contains(stderr, "already in use") {
		t.Errorf("docker create with a name in use: exit %d, %q", code, stderr)
	}
	code, _, body = e.request("POST", "/containers/create?name=taken", `{"Image":"`+e.ref+`"}`)
	if code != 409 || !strings.Contains(errMessage(t, body), "already in use") {
		t.Errorf("create with a name in use: %d %s, want 409", code, body)
	}
	if _, stderr, code := e.docker("run", "--rm", "--restart", "always", e.ref, "true"); code != 125 || stderr == "" {
		t.Errorf("docker run --rm --restart always: exit %d, %q; want 125", code, stderr)
	}
	e.ok("rm", "taken")
	e.nothingLeft()
}
