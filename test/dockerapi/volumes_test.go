package dockerapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lines splits the CLI's output into its lines, sorted.
func lines(out string) []string {
	f := strings.Fields(out)
	slices.Sort(f)
	return f
}

// noVolumes checks berthd holds no volume, on the API and on disk.
func (e *env) noVolumes() {
	e.t.Helper()
	if out := e.ok("volume", "ls", "-q"); out != "" {
		e.t.Errorf("volumes left: %q", out)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, "root", "volumes", "*")); len(m) > 0 {
		e.t.Errorf("volume directories left: %v", m)
	}
}

// TestVolumeLifecycle: volumes made with labels show in ls (filters
// name, label, driver, dangling) and inspect as Docker shows them, their
// data outlives the containers that mount them with -v NAME:/d, rm of
// one in use is refused, and prune removes only anonymous volumes unless
// --all, keeping to its label filter.
func TestVolumeLifecycle(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("volume", "create", "--label", "team=a", "--label", "tier=db", "vol-a"); out != "vol-a" {
		t.Errorf("volume create printed %q", out)
	}
	e.ok("volume", "create", "vol-b")
	for filter, want := range map[string][]string{
		"": {"vol-a", "vol-b"}, "name=vol-b": {"vol-b"}, "label=team=a": {"vol-a"}, "label=tier": {"vol-a"},
		"label=team=b": nil, "driver=local": {"vol-a", "vol-b"}, "dangling=true": {"vol-a", "vol-b"}, "dangling=false": nil,
	} {
		args := []string{"volume", "ls", "-q"}
		if filter != "" {
			args = append(args, "--filter", filter)
		}
		if got := lines(e.ok(args...)); !slices.Equal(got, want) {
			t.Errorf("volume ls --filter %q: %v, want %v", filter, got, want)
		}
	}
	var vols []struct {
		Name, Driver, Mountpoint, Scope, CreatedAt string
		Labels                                     map[string]string
	}
	if err := json.Unmarshal([]byte(e.ok("volume", "inspect", "vol-a")), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("volume inspect: %v (%d objects)", err, len(vols))
	}
	if v := vols[0]; v.Name != "vol-a" || v.Driver != "local" || v.Scope != "local" || v.CreatedAt == "" ||
		v.Labels["team"] != "a" || v.Labels["tier"] != "db" || !strings.HasPrefix(v.Mountpoint, filepath.Join(e.dir, "root")) {
		t.Errorf("volume inspect: %+v", v)
	} else if _, err := os.Stat(v.Mountpoint); err != nil {
		t.Errorf("the volume's mountpoint: %v", err)
	}

	e.ok("run", "--rm", "--network", "none", "-v", "vol-a:/d", e.ref, "sh", "-c", "echo kept > /d/f")
	if out := e.ok("run", "--rm", "--network", "none", "-v", "vol-a:/d", e.ref, "cat", "/d/f"); out != "kept" {
		t.Errorf("the second container read %q from vol-a, want kept", out)
	}

	e.ok("run", "-d", "--name", "user", "--network", "none", "-v", "vol-b:/d", e.ref, "sleep", "1000")
	e.fails("in use", "volume", "rm", "vol-b")
	if got := lines(e.ok("volume", "ls", "-q", "--filter", "dangling=false")); !slices.Equal(got, []string{"vol-b"}) {
		t.Errorf("volume ls --filter dangling=false: %v", got)
	}

	anon := e.ok("volume", "create")
	if len(anon) != 64 {
		t.Errorf("an anonymous volume's name: %q", anon)
	}
	if out := e.ok("volume", "prune", "-f"); !strings.Contains(out, "Deleted Volumes:\n"+anon+"\n") || strings.Contains(out, "vol-") {
		t.Errorf("volume prune printed %q, want only %s deleted", out, anon)
	}
	if out := e.ok("volume", "prune", "-f", "--all", "--filter", "label=team=b"); strings.Contains(out, "vol-") {
		t.Errorf("volume prune --all --filter label=team=b printed %q", out)
	}
	// vol-b is in use: only vol-a goes.
	if out := e.ok("volume", "prune", "-f", "--all"); !strings.Contains(out, "Deleted Volumes:\nvol-a\n") || strings.Contains(out, "vol-b") {
		t.Errorf("volume prune --all printed %q", out)
	}
	e.ok("rm", "-f", "user")
	if out := e.ok("volume", "rm", "vol-b"); out != "vol-b" {
		t.Errorf("volume rm printed %q", out)
	}
	e.noVolumes()
	e.nothingLeft()
}

// TestVolumeBadInput: an unknown volume, a bad name, another driver, an
// unknown filter and an unknown all= value each fail with Docker's
// status and one line, leaving no volume.
func TestVolumeBadInput(t *testing.T) {
	e := newEnv(t)
	e.fails("nosuch", "volume", "inspect", "nosuch")
	e.fails("nosuch", "volume", "rm", "nosuch")
	e.ok("volume", "rm", "-f", "nosuch")
	e.fails("invalid volume name", "volume", "create", "bad/name")
	e.fails(`volume driver "nfs" is not served`, "volume", "create", "-d", "nfs", "v")
	e.fails("volume driver options are not served", "volume", "create", "-o", "type=tmpfs", "v")
	e.fails("invalid filter 'foo'", "volume", "ls", "--filter", "foo=bar")
	for _, req := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/volumes/nosuch", "", 404},
		{"DELETE", "/volumes/nosuch", "", 404},
		{"POST", "/volumes/create", `{"Name": `, 400},
		{"GET", `/volumes?filters={"dangling":["maybe"]}`, "", 400},
		{"POST", `/volumes/prune?filters={"all":["maybe"]}`, "", 400},
	} {
		code, _, body := e.request(req.method, strings.ReplaceAll(req.path, `"`, "%22"), req.body)
		if code != req.want || errMessage(t, body) == "" {
			t.Errorf("%s %s: %d %s, want %d", req.method, req.path, code, body, req.want)
		}
	}
	e.noVolumes()
	e.nothingLeft()
}
