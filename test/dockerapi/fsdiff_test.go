package dockerapi_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/registrytest"
)

// runtimeChanges are the paths the runtime itself makes in a container's
// writable layer when the image lacks them: the mount points /dev, /proc
// and /sys and the bind targets /etc/hosts and /etc/resolv.conf (hence
// /etc modified). Docker keeps such paths in an init layer under the
// container's; Berth lists them.
var runtimeChanges = []string{"A /dev", "C /etc", "A /etc/hosts", "A /etc/resolv.conf", "A /proc", "A /sys"}

// TestDiff checks `docker diff` with the real CLI on an image of three
// layers with a whiteout and an opaque directory (registrytest's
// MultiLayerImage: /etc/keep, /etc/dir/new, /data/b): a stopped
// container that added a file, modified an image file, deleted one,
// made a directory with a file, recreated a deleted directory (opaque
// in the writable layer) and a file the image's layers had deleted gets
// exactly the expected lines in Docker's order; a running one lists
// what exec changes, the same once stopped, and `berth diff` prints
// the same lines; the raw answer is Docker's
// FilesystemChange list; an unknown container fails with Docker's
// message; nothing is left.
func TestDiff(t *testing.T) {
	e := newEnv(t)
	img, err := registrytest.MultiLayerImage(registrytest.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.PushImage(t, "test/multi", "v1", img)
	ref := e.reg.Host + "/test/multi:v1"
	e.ok("pull", "-q", ref)

	e.ok("run", "--name", "plain", ref, "true")
	checkDiff(t, e, "plain", runtimeChanges)

	e.ok("run", "--name", "changed", ref, "sh", "-c", "echo hi > /added.txt && echo more >> /etc/keep && busybox rm /etc/dir/new && "+
		"busybox mkdir /newdir && echo f > /newdir/f && busybox rm -r /data && busybox mkdir /data && echo c > /data/c && echo back > /etc/gone")
	checkDiff(t, e, "changed", []string{"A /added.txt", "C /data", "D /data/b", "A /data/c", "A /dev", "C /etc", "C /etc/dir",
		"D /etc/dir/new", "A /etc/gone", "A /etc/hosts", "C /etc/keep", "A /etc/resolv.conf", "A /newdir", "A /newdir/f", "A /proc", "A /sys"})

	e.ok("run", "-d", "--name", "running", ref, "sleep", "1000")
	e.ok("exec", "running", "sh", "-c", "echo x > /tmp/x && busybox ln -s /etc /tmp/link")
	running := []string{"A /dev", "C /etc", "A /etc/hosts", "A /etc/resolv.conf", "A /proc", "A /sys", "C /tmp", "A /tmp/link", "A /tmp/x"}
	checkDiff(t, e, "running", running)
	code, _, body := e.request("GET", "/v1.50/containers/running/changes", "")
	var wire []struct {
		Path string
		Kind int
	}
	if err := json.Unmarshal([]byte(body), &wire); code != 200 || err != nil || len(wire) != len(running) ||
		wire[len(wire)-1].Path != "/tmp/x" || wire[len(wire)-1].Kind != 1 || wire[1].Path != "/etc" || wire[1].Kind != 0 {
		t.Errorf("GET /containers/running/changes: %d %s (%v); want Docker's list, /etc kind 0, /tmp/x kind 1", code, body, err)
	}
	e.ok("stop", "-t", "1", "running")
	checkDiff(t, e, "running", running)
	if out, errs, code := e.run(e.berthPath(), nil, "diff", "running"); code != 0 || out != strings.Join(running, "\n")+"\n" {
		t.Errorf("berth diff running: exit %d, %q, %q; want docker diff's lines", code, out, errs)
	}
	if _, errs, code := e.run(e.berthPath(), nil, "diff", "nosuch"); code == 0 || !strings.Contains(errs, "no such container: nosuch") {
		t.Errorf("berth diff nosuch: exit %d, %q; want no such container", code, errs)
	}

	e.fails("No such container: nosuch", "diff", "nosuch")
	code, _, body = e.request("GET", "/v1.50/containers/nosuch/changes", "")
	if code != 404 || errMessage(t, body) != "No such container: nosuch" {
		t.Errorf("changes of an unknown container: %d %s, want 404 No such container: nosuch", code, body)
	}
	e.ok("rm", "plain", "changed", "running")
	e.ok("rmi", ref)
	e.nothingLeft()
}

// checkDiff checks `docker diff` prints exactly want, in its order.
func checkDiff(t *testing.T, e *env, ctr string, want []string) {
	t.Helper()
	if got := strings.Split(e.ok("diff", ctr), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("docker diff %s:\n%s\nwant\n%s", ctr, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
