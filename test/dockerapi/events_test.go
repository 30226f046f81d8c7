package dockerapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unixArg is t as the Docker CLI and API take it: seconds.nanoseconds.
func unixArg(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// TestContainerEvents follows two containers through create, start, die
// and destroy with `docker events`: live (from --since, replayed, on to
// the new ones), replayed between --since and --until with filters by
// container, event, label, image and type, and raw in Docker's JSON
// shape; bad input gets Docker's errors. Image events name the pull and
// the tag as Docker does.
func TestContainerEvents(t *testing.T) {
	e := newEnv(t)
	tPull := time.Now()
	e.ok("pull", "-q", e.ref)
	tagged := e.reg.Host + "/test/evtag:v1"
	e.ok("tag", e.ref, tagged)
	e.ok("rmi", tagged)
	if got := e.ok("events", "--since", unixArg(tPull), "--until", unixArg(time.Now()), "--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}} {{len .Actor.Attributes}}"); got !=
		"pull "+e.ref+" 2\ntag "+tagged+" 1\ndelete "+tagged+" 1" {
		t.Errorf("image events of pull, tag and rmi: %q", got)
	}
	t0 := time.Now()
	live := e.startEvents("--since", unixArg(t0), "--filter", "container=evt", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
	id := e.ok("create", "--name", "evt", "--label", "team=a", e.ref, "sh", "-c", "exit 3")
	if _, _, code := e.docker("start", "-a", "evt"); code != 3 {
		t.Errorf("docker start -a evt: exit %d, want 3", code)
	}
	e.ok("run", "--name", "other", e.ref, "true")
	e.ok("rm", "evt")
	e.ok("rm", "other")
	want := []string{"container create evt", "container start evt", "container die evt", "container destroy evt"}
	if got := live.next(len(want)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("live docker events --filter container=evt: %q, want %q", got, want)
	}
	t1 := time.Now()
	span := []string{"events", "--since", unixArg(t0), "--until", unixArg(t1)}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "container=evt", "--format", "{{.Action}}"}, "create\nstart\ndie\ndestroy"},
		{[]string{"--filter", "container=" + id[:12], "--filter", "event=die", "--format", "{{.Actor.ID}} {{.Actor.Attributes.exitCode}}"}, id + " 3"},
		{[]string{"--filter", "label=team=a", "--filter", "event=destroy", "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.image}}"}, "evt " + e.ref},
		{[]string{"--filter", "image=" + e.ref, "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}"}, "evt\nother"},
		{[]string{"--filter", "type=container", "--filter", "event=create", "--filter", "event=destroy", "--format", "{{.Action}} {{.Actor.Attributes.name}}"},
			"create evt\ncreate other\ndestroy evt\ndestroy other"},
		{[]string{"--filter", "type=network", "--filter", "container=evt"}, ""},
	} {
		if got := e.ok(append(span, c.args...)...); got != c.want {
			t.Errorf("docker events --since --until %v: %q, want %q", c.args, got, c.want)
		}
	}
	e.checkEventShape(t0, t1, id)
	if _, stderr, code := e.docker("events", "--filter", "colour=blue"); code == 0 || !strings.Contains(stderr, "invalid filter 'colour'") {
		t.Errorf("docker events --filter colour=blue: exit %d, %q", code, stderr)
	}
	for q, want := range map[string]string{
		"since=yesterday":          "invalid value for since",
		"since=20&until=10":        "cannot be after `until`",
		"filters=" + "%7Bnot+json": "invalid filter",
	} {
		code, _, body := e.request("GET", "/v1.50/events?"+q, "")
		if code != 400 || !strings.Contains(errMessage(t, body), want) {
			t.Errorf("GET /events?%s: %d %s, want 400 %q", q, code, body, want)
		}
	}
	e.nothingLeft()
}

// checkEventShape reads evt's replayed die event from the API itself:
// Docker's fields, the container's labels among its attributes.
func (e *env) checkEventShape(since, until time.Time, id string) {
	e.t.Helper()
	q := url.Values{"since": {unixArg(since)}, "until": {unixArg(until)}, "filters": {`{"container":{"evt":true},"event":{"die":true}}`}}
	code, h, body := e.request("GET", "/v1.50/events?"+q.Encode(), "")
	var m struct {
		Type, Action string
		Actor        struct {
			ID         string
			Attributes map[string]string
		}
		Scope    string `json:"scope"`
		Time     int64  `json:"time"`
		TimeNano int64  `json:"timeNano"`
	}
	if code != 200 || h.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &m) != nil {
		e.t.Fatalf("GET /events: %d %v %q", code, h, body)
	}
	a := m.Actor.Attributes
	if m.Type != "container" || m.Action != "die" || m.Actor.ID != id || m.Scope != "local" || a["name"] != "evt" ||
		a["image"] != e.ref || a["team"] != "a" || a["exitCode"] != "3" || m.Time != m.TimeNano/1e9 || m.Time < since.Unix() {
		e.t.Errorf("die event %s", body)
	}
}

// eventStream is a `docker events` running in the background.
type eventStream struct {
	t     *testing.T
	lines chan string
}

// startEvents runs `docker events args...` until the test ends.
func (e *env) startEvents(args ...string) *eventStream {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	cmd := exec.CommandContext(ctx, dockerCLI, append([]string{"events"}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+filepath.Join(e.dir, "docker-config"), "NO_PROXY=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	s := &eventStream{t: e.t, lines: make(chan string, 64)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s
}

// next reads n lines, fewer if the stream ends (or hangs past
// cliTimeout, which fails the test).
func (s *eventStream) next(n int) []string {
	s.t.Helper()
	var got []string
	for len(got) < n {
		l, ok := <-s.lines
		if !ok {
			s.t.Errorf("docker events ended after %q", got)
			break
		}
		got = append(got, l)
	}
	return got
}
