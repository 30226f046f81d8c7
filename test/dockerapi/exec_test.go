package dockerapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/moby/moby/api/types/container"
)

// inspectExec reads GET /exec/{id}/json.
func (e *env) inspectExec(id string) (int, dcontainer.ExecInspectResponse) {
	e.t.Helper()
	code, _, body := e.request("GET", "/v1.50/exec/"+id+"/json", "")
	var x dcontainer.ExecInspectResponse
	if code == 200 {
		if err := json.Unmarshal([]byte(body), &x); err != nil {
			e.t.Fatalf("exec inspect: %v: %s", err, body)
		}
	}
	return code, x
}

// execIDs is a container's ExecIDs as inspect shows them.
func (e *env) execIDs(name string) []string {
	e.t.Helper()
	var ids []string
	if err := json.Unmarshal([]byte(e.ok("inspect", "--format", "{{json .ExecIDs}}", name)), &ids); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// TestExec drives `docker exec` through berthd: split output and the
// exit code, -e, -u, -w, stdin with -i, a command that does not exist,
// -d (the process runs and inspect follows it to its exit), and exec
// records dropped with their container.
func TestExec(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("run", "-d", "--name", "x", e.ref, "sleep", "1000")

	stdout, stderr, code := e.docker("exec", "x", "sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || stdout != "out\n" || stderr != "err\n" {
		t.Errorf("docker exec: exit %d, stdout %q, stderr %q; want 3, \"out\\n\", \"err\\n\"", code, stdout, stderr)
	}
	if got := e.ok("exec", "-e", "GREETING=hi there", "-u", "1234:5678", "-w", "/tmp", "x", "sh", "-c", `echo "$GREETING" $(id -u):$(id -g) $(pwd)`); got != "hi there 1234:5678 /tmp" {
		t.Errorf("docker exec -e -u -w: %q", got)
	}
	stdout, stderr, code = e.run(dockerCLI, strings.NewReader("line one\nline two\n"), "exec", "-i", "x", "cat")
	if code != 0 || stdout != "line one\nline two\n" || stderr != "" {
		t.Errorf("docker exec -i cat: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, stderr, code := e.docker("exec", "x", "nosuchcommand"); code != 127 || !strings.Contains(stderr, "nosuchcommand") {
		t.Errorf("docker exec of a missing command: exit %d, stderr %q; want 127", code, stderr)
	}

	// -d: the process runs on until told to stop, then exits 4.
	e.ok("exec", "-d", "x", "sh", "-c", "while [ ! -e /tmp/stop ]; do sleep 0.05; done; exit 4")
	ids := e.execIDs("x")
	if len(ids) != 1 {
		t.Fatalf("inspect's ExecIDs with one exec running: %q", ids)
	}
	code, x := e.inspectExec(ids[0])
	if code != 200 || !x.Running || x.Pid <= 0 || x.ExitCode != nil || x.ContainerID == "" ||
		x.ProcessConfig == nil || x.ProcessConfig.Entrypoint != "sh" || len(x.ProcessConfig.Arguments) != 2 {
		t.Fatalf("exec inspect of a detached exec: %d %+v", code, x)
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", x.Pid)); err != nil || !strings.HasPrefix(string(cmdline), "sh\x00-c\x00") {
		t.Errorf("exec Pid %d is not the detached process: %q %v", x.Pid, cmdline, err)
	}
	e.ok("exec", "x", "sh", "-c", ": > /tmp/stop")
	for deadline := time.Now().Add(cliTimeout); x.Running && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, x = e.inspectExec(ids[0])
	}
	if x.Running || x.ExitCode == nil || *x.ExitCode != 4 {
		t.Errorf("exec inspect after the detached exec ended: %+v, want exit code 4", x)
	}
	if ids := e.execIDs("x"); len(ids) != 0 {
		t.Errorf("inspect's ExecIDs with no exec running: %q", ids)
	}

	e.ok("rm", "-f", "x")
	if code, _ := e.inspectExec(ids[0]); code != 404 {
		t.Errorf("exec inspect after its container was removed: %d, want 404", code)
	}
	e.nothingLeft()
}

// TestExecErrors checks exec on an unknown and a stopped container with
// the CLI (one-line errors) and the API's statuses: unknown exec, no
// command, a second start, a bad resize.
func TestExecErrors(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("create", "--name", "stopped", e.ref, "true")
	for name, want := range map[string]string{"nosuch": "nosuch", "stopped": "is not running"} {
		_, stderr, code := e.docker("exec", name, "true")
		if code != 1 || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("docker exec %s: exit %d, stderr %q; want 1 and one line with %q", name, code, stderr, want)
		}
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1.50/containers/nosuch/exec", `{"Cmd":["true"]}`, 404},
		{"POST", "/v1.50/containers/stopped/exec", `{"Cmd":["true"]}`, 409},
		{"POST", "/v1.50/containers/stopped/resize?h=10&w=10", "", 409},
		{"POST", "/v1.50/exec/nosuch/start", `{"Detach":true}`, 404},
		{"POST", "/v1.50/exec/nosuch/resize?h=10&w=10", "", 404},
		{"GET", "/v1.50/exec/nosuch/json", "", 404},
	} {
		if code, _, body := e.request(c.method, c.path, c.body); code != c.want || errMessage(t, body) == "" {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
		}
	}

	e.ok("run", "-d", "--name", "r", e.ref, "sleep", "1000")
	if code, _, body := e.request("POST", "/v1.50/containers/r/exec", `{"Cmd":[]}`); code != 400 || errMessage(t, body) == "" {
		t.Errorf("exec with no command: %d %s, want 400", code, body)
	}
	if code, _, body := e.request("POST", "/v1.50/containers/r/resize?h=x&w=10", ""); code != 400 || errMessage(t, body) == "" {
		t.Errorf("resize with a bad height: %d %s, want 400", code, body)
	}
	code, _, body := e.request("POST", "/v1.50/containers/r/exec", `{"Cmd":["true"]}`)
	var created dcontainer.ExecCreateResponse
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil || len(created.ID) != 64 {
		t.Fatalf("exec create: %d %s", code, body)
	}
	if code, _, body := e.request("POST", "/v1.50/exec/"+created.ID+"/start", `{"Detach":true}`); code != 200 {
		t.Errorf("exec start -d: %d %s", code, body)
	}
	if code, _, body := e.request("POST", "/v1.50/exec/"+created.ID+"/start", `{"Detach":true}`); code != 409 || errMessage(t, body) == "" {
		t.Errorf("second exec start: %d %s, want 409", code, body)
	}
	e.ok("rm", "-f", "r", "stopped")
	e.nothingLeft()
}
