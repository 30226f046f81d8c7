package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// withCgroupNS adds a new cgroup namespace to s when the kernel has them.
// On cgroup v1 the runtime then still moves the init into its cgroup while
// the init sets up, which is where messages used to cross.
func withCgroupNS(t *testing.T, s *specs.Spec) {
	if _, err := os.Stat("/proc/self/ns/cgroup"); err != nil {
		t.Skipf("no cgroup namespaces: %v", err)
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
}

// A failure inside the init reaches the user as the init's own error,
// never as the runtime's failure to talk to an init that is gone.
func TestInitErrorIsReported(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		b := e.bundle([]string{"true"}, func(s *specs.Spec) { withCgroupNS(t, s) })
		proc := filepath.Join(b, "rootfs", "proc")
		if err := os.Remove(proc); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/symlink", proc); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"berth-runtime": "must not be or go through a symlink", "runc": "must be mounted on ordinary directory"}
		// The init fails at once while the cgroup move is under way:
		// try often enough to lose the race.
		for i := 0; i < 8; i++ {
			r := e.run("run", "-b", b, e.id())
			if r.code == 0 || !strings.Contains(r.err, want[e.name()]) || strings.Contains(r.err, "broken pipe") {
				t.Fatalf("%s: exit %d, error %q, want the init's error %q", e.name(), r.code, r.err, want[e.name()])
			}
		}
	})
}

// A createRuntime hook gets the pid of an init that is alive and waits
// for the hook (with a cgroup namespace, the init used to take the cgroup
// mover's message for an abort and exit under the hook).
func TestCreateRuntimeHookSeesLiveInit(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		check := `s=$(cat); p=${s#*\"pid\":}; p=${p%%[,\}]*}; sleep 0.3; test -d /proc/$p || { echo "pid $p gone" >&2; exit 1; }`
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			withCgroupNS(t, s)
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", check}}}}
		})
		for i := 0; i < 3; i++ {
			if r := e.run("run", "-b", b, e.id()); r.code != 0 {
				t.Fatalf("%s: exit %d: %s", e.name(), r.code, r.err)
			}
		}
	})
}

// Capabilities runc 1.1 ignores start the container here too: a name
// that is no capability (with a warning), and an ambient capability that
// is not also inheritable (silently: runc's own spec template asks for
// those).
func TestIgnoredCapabilitiesWarn(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		b := e.bundle([]string{"grep", "^CapAmb", "/proc/self/status"}, func(s *specs.Spec) {
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, "CAP_BERTH_BOGUS")
			c.Permitted = append(c.Permitted, "CAP_BERTH_BOGUS")
			c.Ambient = []string{"CAP_KILL"}
			s.Process.User = specs.User{UID: 1000, GID: 1000}
		})
		r := e.run("run", "-b", b, e.id())
		if r.code != 0 || strings.TrimSpace(r.out) != "CapAmb:\t0000000000000000" {
			t.Fatalf("%s: exit %d, out %q, err %q", e.name(), r.code, r.out, r.err)
		}
		if e.name() == "berth-runtime" && (!strings.Contains(r.err, "CAP_BERTH_BOGUS") || strings.Count(r.err, "\n") != 1) {
			t.Errorf("berth does not warn, once, about the name it ignores: %q", r.err)
		}
	})
}

// exec --cap adds the capability to the ambient set as well, where the
// process has inheritable capabilities to raise it from (as runc).
func TestExecCapRaisesAmbient(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		b := e.bundle([]string{"sleep", "100"}, func(s *specs.Spec) {
			// Inheritable, not permitted: only exec --cap makes it ambient.
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, "CAP_NET_ADMIN")
			c.Inheritable = []string{"CAP_NET_ADMIN"}
		})
		id := e.id()
		if r := e.run("run", "-d", "-b", b, id); r.code != 0 {
			t.Fatalf("%s: run: exit %d: %s", e.name(), r.code, r.err)
		}
		r := e.run("exec", "--cap", "CAP_NET_ADMIN", id, "grep", "^CapAmb", "/proc/self/status")
		if r.code != 0 || strings.TrimSpace(r.out) != "CapAmb:\t0000000000001000" {
			t.Fatalf("%s: exec --cap: exit %d, out %q, err %q", e.name(), r.code, r.out, r.err)
		}
	})
}

// environ is a shell command printing its own environment, one per line,
// exactly as execve got it.
const environ = `cat /proc/$$/environ | tr '\0' '\n'`

// The environment is passed as runc passes it: a duplicated key once,
// with its last value in the place of its first, and an empty or missing
// HOME filled from the container's /etc/passwd.
func TestProcessEnv(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			uid  uint32
			env  []string
			want string
		}{
			{0, []string{"PATH=/bin", "FOO=1", "BAR=x", "FOO=2", "HOME="}, "PATH=/bin\nFOO=2\nBAR=x\nHOME=/root\n"},
			{65534, []string{"PATH=/bin", "A=1", "A="}, "PATH=/bin\nA=\nHOME=/nonexistent\n"},
			{4242, []string{"PATH=/bin"}, "PATH=/bin\nHOME=/\n"},
			{0, []string{"PATH=/bin", "HOME=/x", "HOME="}, "PATH=/bin\nHOME=/root\n"},
		} {
			b := e.bundle([]string{"sh", "-c", environ}, func(s *specs.Spec) {
				s.Process.Env = c.env
				s.Process.User = specs.User{UID: c.uid, GID: c.uid}
			})
			r := e.run("run", "-b", b, e.id())
			if r.code != 0 || r.out != c.want {
				t.Errorf("%s: env %q as uid %d: exit %d, got %q, want %q (%s)", e.name(), c.env, c.uid, r.code, r.out, c.want, r.err)
			}
		}
	})
}

// A startContainer hook without an env of its own runs with the
// container process's environment, as under runc.
func TestStartContainerHookEnv(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		b := e.bundle([]string{"sh", "-c", "cat /hook-env; echo --; " + environ}, func(s *specs.Spec) {
			s.Process.Env = []string{"PATH=/bin", "ONE=two", "FOO=bar"}
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", environ + " > /hook-env"}}}}
		})
		want := "PATH=/bin\nONE=two\nFOO=bar\nHOME=/root\n"
		r := e.run("run", "-b", b, e.id())
		if r.code != 0 || r.out != want+"--\n"+want {
			t.Errorf("%s: exit %d, hook env -- process env:\n%s(want both %q) %s", e.name(), r.code, r.out, want, r.err)
		}
	})
}
