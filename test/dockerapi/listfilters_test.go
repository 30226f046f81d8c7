package dockerapi_test

import (
	"strings"
	"testing"
)

// TestListFilters: docker ps filters exited, ancestor (name and ID
// prefix), before, since, network and volume select what Docker's do;
// an unknown before/since container and a bad exit code are refused.
func TestListFilters(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.docker("run", "--name", "f1", e.ref, "sh", "-c", "exit 3")
	e.ok("run", "--name", "f2", e.ref, "true")
	dir := t.TempDir()
	e.ok("run", "-d", "--name", "f3", "-v", dir+":/data", e.ref, "sleep", "1000")
	imageID := strings.TrimPrefix(e.ok("image", "inspect", "--format", "{{.Id}}", e.ref), "sha256:")
	for _, c := range []struct {
		filter, want string
	}{
		{"exited=3", "f1"},
		{"exited=0", "f2"},
		{"ancestor=" + e.ref, "f3 f2 f1"},
		{"ancestor=" + imageID[:12], "f3 f2 f1"},
		{"ancestor=" + e.reg.Host + "/test/other", ""},
		{"before=f3", "f2 f1"},
		{"since=f1", "f3 f2"},
		{"network=bridge", "f3 f2 f1"},
		{"network=nosuchnet", ""},
		{"volume=/data", "f3"},
	} {
		got := strings.Join(strings.Fields(e.ok("ps", "-a", "--filter", c.filter, "--format", "{{.Names}}")), " ")
		if got != c.want {
			t.Errorf("docker ps -a --filter %s: %q, want %q", c.filter, got, c.want)
		}
	}
	if got := e.ok("ps", "--no-trunc", "--format", "{{.Mounts}}"); got != dir {
		t.Errorf("docker ps --format {{.Mounts}}: %q", got)
	}
	for _, bad := range [][2]string{{"before=nosuch", "nosuch"}, {"exited=x", "exited=x"}, {"health=healthy", "health"}} {
		if _, stderr, code := e.docker("ps", "-a", "--filter", bad[0]); code == 0 || !strings.Contains(stderr, bad[1]) {
			t.Errorf("docker ps --filter %s: exit %d, %q", bad[0], code, stderr)
		}
	}
	e.ok("rm", "-f", "f1", "f2", "f3")
	e.nothingLeft()
}
