package dockerapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// debianPython is Debian's Python, whose python3-docker (docker-py 5.0.3)
// the scripts drive: the python3 in PATH may be another one with another
// docker-py.
const debianPython = "/usr/bin/python3"

// requireDockerPy skips the test unless Debian's Python imports docker;
// it logs docker-py's version.
func requireDockerPy(t *testing.T) {
	t.Helper()
	out, err := exec.Command(debianPython, "-c", "import docker; print(docker.__version__)").CombinedOutput()
	if err != nil {
		t.Skipf("%s cannot import docker (apt-get install python3-docker): %v: %s", debianPython, err, strings.TrimSpace(string(out)))
	}
	t.Logf("docker-py %s", strings.TrimSpace(string(out)))
}

// dockerPy runs testdata/dockerpy/script with Debian's docker-py against
// the env's berthd; the script must exit 0 and print want last.
func (e *env) dockerPy(script, want string, args ...string) {
	e.t.Helper()
	out, errs, code := e.run(debianPython, nil, append([]string{"testdata/dockerpy/" + script, e.sock}, args...)...)
	out = strings.TrimSpace(out)
	if code != 0 || out[strings.LastIndex(out, "\n")+1:] != want {
		e.t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", script, code, out, errs)
	}
}

// TestDockerPyContainers runs testdata/dockerpy/containers.py: docker-py
// runs containers detached (env, labels, a port on 127.0.0.1, a volume,
// auto_remove), follows logs with timestamps, waits, execs (exit codes,
// stream, demux), attaches a socket, pauses, tops, stats, updates,
// renames, copies in and out, exports, restarts, stops, kills and prunes
// them, and gets Docker's exceptions for bad input.
func TestDockerPyContainers(t *testing.T) {
	requireDockerPy(t)
	e := newEnv(t)
	e.dockerPy("containers.py", "containers ok", e.reg.Host+"/test/busybox", "v1")
	e.nothingLeft()
}

// TestDockerPyResources runs testdata/dockerpy/resources.py: docker-py
// pulls, lists (filters), tags, pushes, saves, loads, removes and prunes
// images; creates, lists, inspects, removes and prunes volumes; makes two
// internal networks with subnets where containers resolve each other by
// name and alias, connects, disconnects, removes and prunes them; reads
// version, info, df and events (since, until, filters).
func TestDockerPyResources(t *testing.T) {
	requireDockerPy(t)
	e := newEnv(t)
	net1, sub1 := e.newNetwork()
	net2, sub2 := e.newNetwork()
	e.dockerPy("resources.py", "resources ok", e.reg.Host, net1, sub1, net2, sub2)
	e.noNetwork(net1)
	e.noNetwork(net2)
	e.nothingLeft()
}
