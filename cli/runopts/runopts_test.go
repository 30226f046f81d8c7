package runopts

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/errdefs"
)

// parse runs the flags as `berth run` would and returns the
// configuration of image "img".
func parse(args []string) (container.Config, *Options, error) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.SetInterspersed(false)
	o := AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return container.Config{}, o, err
	}
	c, err := o.Config("img", fs.Args())
	return c, o, err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// base is the configuration of `berth run img` with no flags.
func base() container.Config {
	return container.Config{Image: "img", Restart: container.RestartPolicy{Name: "no"}, NetworkMode: "bridge"}
}

func dur(d time.Duration) *time.Duration { return &d }

// TestConfigValid checks what every flag's accepted forms become.
func TestConfigValid(t *testing.T) {
	t.Setenv("BERTH_TEST_FROM_CLIENT", "client-value")
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("\ufeff# comment\n\n  A=1\nB=two words \nBERTH_TEST_FROM_CLIENT\nBERTH_TEST_UNSET_XYZ\nC=\"q\"\n"), 0o644)
	labelFile := filepath.Join(dir, "labels")
	os.WriteFile(labelFile, []byte("# labels\nx=1\nbare\n"), 0o644)
	profile := filepath.Join(dir, "seccomp.json")
	os.WriteFile(profile, []byte("{}"), 0o644)
	cwd, _ := os.Getwd()

	tests := []struct {
		name string
		args []string
		want func(c *container.Config)
	}{
		{"no flags", nil, func(*container.Config) {}},
		{"command", []string{"sh", "-c", "true"}, func(c *container.Config) { c.Cmd = []string{"sh", "-c", "true"} }},
		{"flags after image are the command's", []string{"--rm", "ls", "--rm"}, func(c *container.Config) { c.AutoRemove = true; c.Cmd = []string{"ls", "--rm"} }},
		{"env", []string{"-e", "K=V", "-e", "E=", "-e", "X=a=b", "-e", "BERTH_TEST_FROM_CLIENT", "-e", "BERTH_TEST_UNSET_XYZ"}, func(c *container.Config) {
			c.Env = []string{"K=V", "E=", "X=a=b", "BERTH_TEST_FROM_CLIENT=client-value"}
		}},
		{"env-file then -e", []string{"--env-file", envFile, "-e", "A=2"}, func(c *container.Config) {
			c.Env = []string{"A=1", "B=two words ", "BERTH_TEST_FROM_CLIENT=client-value", `C="q"`, "A=2"}
		}},
		{"workdir user", []string{"-w", "/srv", "-u", "1000:1000"}, func(c *container.Config) { c.WorkingDir = "/srv"; c.User = "1000:1000" }},
		{"user name", []string{"--user", "www-data"}, func(c *container.Config) { c.User = "www-data" }},
		{"entrypoint", []string{"--entrypoint", "/bin/sh"}, func(c *container.Config) { c.Entrypoint = []string{"/bin/sh"} }},
		{"entrypoint cleared", []string{"--entrypoint", ""}, func(c *container.Config) { c.Entrypoint = []string{} }},
		{"bind", []string{"-v", "/host/dir/:/data:ro"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "bind", Source: "/host/dir", Target: "/data", ReadOnly: true}}
		}},
		{"bind relative", []string{"-v", "./x:/x:rw,z,rshared"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "bind", Source: filepath.Join(cwd, "x"), Target: "/x", Options: []string{"z", "rshared"}}}
		}},
		{"named volume", []string{"-v", "data.1:/var/lib/db"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "volume", Source: "data.1", Target: "/var/lib/db"}}
		}},
		{"named volume nocopy", []string{"-v", "cache:/c:nocopy,ro"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "volume", Source: "cache", Target: "/c", ReadOnly: true, Options: []string{"nocopy"}}}
		}},
		{"anonymous volume", []string{"-v", "/scratch"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "volume", Target: "/scratch"}}
		}},
		{"mount bind", []string{"--mount", "type=bind,source=/etc,target=/e,readonly,bind-propagation=rslave"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "bind", Source: "/etc", Target: "/e", ReadOnly: true, Options: []string{"rslave"}}}
		}},
		{"mount volume default type", []string{"--mount", "src=v1,dst=/v,ro=false,volume-nocopy"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "volume", Source: "v1", Target: "/v", Options: []string{"nocopy"}}}
		}},
		{"mount anonymous volume", []string{"--mount", "type=volume,target=/anon"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "volume", Target: "/anon"}}
		}},
		{"mount tmpfs", []string{"--mount", "type=tmpfs,destination=/run,tmpfs-size=64m,tmpfs-mode=1777"}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "tmpfs", Target: "/run", Options: []string{"size=67108864", "mode=1777"}}}
		}},
		{"mount csv quoting", []string{"--mount", `type=bind,"source=/a,b",target=/ab`}, func(c *container.Config) {
			c.Mounts = []container.Mount{{Type: "bind", Source: "/a,b", Target: "/ab"}}
		}},
		{"tmpfs", []string{"--tmpfs", "/tmp", "--tmpfs", "/run:rw,noexec,nosuid,size=65536k,mode=755", "--tmpfs", "/ro:ro"}, func(c *container.Config) {
			c.Mounts = []container.Mount{
				{Type: "tmpfs", Target: "/tmp"},
				{Type: "tmpfs", Target: "/run", Options: []string{"rw", "noexec", "nosuid", "size=65536k", "mode=755"}},
				{Type: "tmpfs", Target: "/ro", ReadOnly: true},
			}
		}},
		{"read-only hostname", []string{"--read-only", "--hostname", "web-1.example"}, func(c *container.Config) { c.ReadOnly = true; c.Hostname = "web-1.example" }},
		{"memory units", []string{"--memory", "512m"}, func(c *container.Config) { c.Resources.Memory = 512 << 20 }},
		{"memory g", []string{"-m", "1G"}, func(c *container.Config) { c.Resources.Memory = 1 << 30 }},
		{"memory fraction", []string{"--memory", "1.5gb"}, func(c *container.Config) { c.Resources.Memory = 3 << 29 }},
		{"memory bytes", []string{"--memory", "10485760"}, func(c *container.Config) { c.Resources.Memory = 10485760 }},
		{"memory KiB", []string{"--memory", "8192KiB"}, func(c *container.Config) { c.Resources.Memory = 8 << 20 }},
		{"cpus", []string{"--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "100"}, func(c *container.Config) {
			c.Resources = container.Resources{NanoCPUs: 1.5e9, CPUShares: 512, PidsLimit: 100}
		}},
		{"pids unlimited", []string{"--pids-limit", "-1"}, func(*container.Config) {}},
		{"cpuset swap oom", []string{"--cpuset-cpus", "0-1", "--cpuset-mems", "0", "-m", "64m", "--memory-swap", "128m", "--oom-score-adj", "300"}, func(c *container.Config) {
			c.Resources = container.Resources{Memory: 64 << 20, MemorySwap: 128 << 20, CpusetCpus: "0-1", CpusetMems: "0"}
			c.OOMScoreAdj = 300
		}},
		{"swap unlimited", []string{"--memory-swap", "-1"}, func(c *container.Config) { c.Resources.MemorySwap = -1 }},
		{"ulimits", []string{"--ulimit", "nofile=1024:2048", "--ulimit", "core=0", "--ulimit", "memlock=-1:unlimited"}, func(c *container.Config) {
			c.Ulimits = []container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "core"}, {Name: "memlock", Soft: math.MaxUint64, Hard: math.MaxUint64}}
		}},
		{"caps", []string{"--cap-add", "net_admin", "--cap-add", "CAP_SYS_TIME", "--cap-drop", "all", "--cap-drop", "Chown"}, func(c *container.Config) {
			c.CapAdd = []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"}
			c.CapDrop = []string{"ALL", "CAP_CHOWN"}
		}},
		{"privileged", []string{"--privileged"}, func(c *container.Config) { c.Privileged = true }},
		{"devices", []string{"--device", "/dev/fuse", "--device", "/dev/sda:/dev/xvda", "--device", "/dev/null:r", "--device", "/dev/zero:/dev/z:rw"}, func(c *container.Config) {
			c.Devices = []container.Device{
				{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", Permissions: "rwm"},
				{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", Permissions: "rwm"},
				{PathOnHost: "/dev/null", PathInContainer: "/dev/null", Permissions: "r"},
				{PathOnHost: "/dev/zero", PathInContainer: "/dev/z", Permissions: "rw"},
			}
		}},
		{"seccomp unconfined nnp", []string{"--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges"}, func(c *container.Config) {
			c.Seccomp = "unconfined"
			c.NoNewPrivileges = true
		}},
		{"seccomp file nnp false", []string{"--security-opt", "seccomp=" + profile, "--security-opt", "no-new-privileges:false"}, func(c *container.Config) { c.Seccomp = profile }},
		{"restart on-failure", []string{"--restart", "on-failure:3"}, func(c *container.Config) { c.Restart = container.RestartPolicy{Name: "on-failure", MaxRetries: 3} }},
		{"restart always", []string{"--restart", "always"}, func(c *container.Config) { c.Restart = container.RestartPolicy{Name: "always"} }},
		{"restart unless-stopped", []string{"--restart=unless-stopped"}, func(c *container.Config) { c.Restart = container.RestartPolicy{Name: "unless-stopped"} }},
		{"rm with restart no", []string{"--rm", "--restart", "no"}, func(c *container.Config) { c.AutoRemove = true }},
		{"runtime init", []string{"--runtime", "crun", "--init"}, func(c *container.Config) { c.Runtime = "crun"; c.Init = true }},
		{"labels", []string{"--label-file", labelFile, "-l", "x=2", "--label", "com.example.k=v=w"}, func(c *container.Config) {
			c.Labels = map[string]string{"x": "2", "bare": "", "com.example.k": "v=w"}
		}},
		{"network", []string{"--network", "host"}, func(c *container.Config) { c.NetworkMode = "host" }},
		{"network none", []string{"--network=none"}, func(c *container.Config) { c.NetworkMode = "none" }},
		{"network by name", []string{"--network", "web_net"}, func(c *container.Config) { c.NetworkMode = "web_net" }},
		{"network container", []string{"--network", "container:web"}, func(c *container.Config) { c.NetworkMode = "container:web" }},
		{"publish", []string{"-p", "8080:80", "-p", "127.0.0.1::53/udp", "-P"}, func(c *container.Config) {
			c.Publish, c.PublishAll = []string{"8080:80", "127.0.0.1::53/udp"}, true
		}},
		{"etc files", []string{"--dns", "10.0.0.2", "--dns-search", "example.com", "--dns-option", "ndots:2", "--add-host", "db:10.0.0.3", "--add-host", "v6:[::1]"}, func(c *container.Config) {
			c.DNS, c.DNSSearch, c.DNSOptions, c.ExtraHosts = []string{"10.0.0.2"}, []string{"example.com"}, []string{"ndots:2"}, []string{"db:10.0.0.3", "v6:[::1]"}
		}},
		{"addresses and alias", []string{"--mac-address", "02:42:ac:11:00:02", "--ip", "10.89.0.9", "--network-alias", "db"}, func(c *container.Config) {
			c.MacAddress, c.IPAddress, c.NetworkAliases = "02:42:ac:11:00:02", "10.89.0.9", []string{"db"}
		}},
		{"log opts", []string{"--log-opt", "max-size=10m,max-file=3"}, func(c *container.Config) { c.Log = container.LogConfig{MaxSize: 10 << 20, MaxFiles: 3} }},
		{"log opts apart", []string{"--log-opt", "max-file=2", "--log-opt", "max-size=1k"}, func(c *container.Config) { c.Log = container.LogConfig{MaxSize: 1024, MaxFiles: 2} }},
		{"stop", []string{"--stop-signal", "int", "--stop-timeout", "3"}, func(c *container.Config) { c.StopSignal = "SIGINT"; c.StopTimeout = dur(3 * time.Second) }},
		{"stop signal number", []string{"--stop-signal", "9"}, func(c *container.Config) { c.StopSignal = "SIGKILL" }},
		{"stop signal rt", []string{"--stop-signal", "SIGRTMIN+3"}, func(c *container.Config) { c.StopSignal = "37" }},
		{"stop timeout zero", []string{"--stop-timeout", "0"}, func(c *container.Config) { c.StopTimeout = dur(0) }},
		{"stop timeout forever", []string{"--stop-timeout", "-1"}, func(c *container.Config) { c.StopTimeout = dur(-time.Second) }},
		{"name", []string{"--name", "web_1.a-b"}, func(c *container.Config) { c.Name = "web_1.a-b" }},
		{"name with slash", []string{"--name", "/web"}, func(c *container.Config) { c.Name = "web" }},
		{"interactive tty", []string{"-it"}, func(c *container.Config) { c.OpenStdin = true; c.Tty = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parse(tt.args)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.args, err)
			}
			want := base()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("parse %q:\n got %+v\nwant %+v", tt.args, got, want)
			}
		})
	}
}

// TestDetach checks that -d sets Options.Detach and nothing in Config.
func TestDetach(t *testing.T) {
	c, o, err := parse([]string{"-d"})
	if err != nil || !o.Detach || !reflect.DeepEqual(c, base()) {
		t.Fatalf("-d: detach %v, config %+v, err %v", o.Detach, c, err)
	}
}

// TestConfigInvalid checks that every bad value is refused with one line
// naming the flag and the value, of kind invalid argument (or not
// implemented for forms Berth does not support).
func TestConfigInvalid(t *testing.T) {
	dir := t.TempDir()
	badEnv := filepath.Join(dir, "bad")
	os.WriteFile(badEnv, []byte("OK=1\nBAD NAME=2\n"), 0o644)
	tests := []struct{ flag, value string }{
		{"env", "=V"},
		{"env", "A B=1"},
		{"env-file", filepath.Join(dir, "missing")},
		{"env-file", badEnv},
		{"workdir", "relative/dir"},
		{"user", "a:b:c"},
		{"user", "bad user"},
		{"user", ":1"},
		{"volume", "/a:/b:/c:/d"},
		{"volume", "relative"},
		{"volume", "/host:relative"},
		{"volume", "/host:/"},
		{"volume", "bad name!:/x"},
		{"volume", "v:/x:ro,rw"},
		{"volume", "v:/x:bogus"},
		{"volume", "v:/x:rshared"},
		{"volume", "/h:/x:nocopy"},
		{"mount", "type=bind,target=/x"},
		{"mount", "type=nfs,target=/x"},
		{"mount", "type=volume,source=/abs,target=/x"},
		{"mount", "type=bind,source=name,target=/x"},
		{"mount", "type=tmpfs,source=x,target=/x"},
		{"mount", "type=tmpfs,target=/x,tmpfs-size=lots"},
		{"mount", "type=tmpfs,target=/x,tmpfs-mode=999"},
		{"mount", "type=bind,source=/a,target=/x,tmpfs-size=1m"},
		{"mount", "source=v"},
		{"mount", "type=bind,source=/a,target=/x,readonly=maybe"},
		{"mount", "type=bind,source=/a,target=/x,colour=red"},
		{"mount", `type=bind,"source=/a`},
		{"mount", "type=bind,source=/a,target=/x,bind-propagation=wide"},
		{"tmpfs", "relative"},
		{"tmpfs", "/t:size=huge"},
		{"tmpfs", "/t:exec,bogus"},
		{"tmpfs", "/t:mode=9"},
		{"hostname", "-bad"},
		{"hostname", strings.Repeat("a", 65)},
		{"hostname", "under_score"},
		{"memory", "lots"},
		{"memory", "1x"},
		{"memory", "-1"},
		{"memory", "1m"},
		{"memory", "99999999999p"},
		{"cpus", "one"},
		{"cpus", "-1"},
		{"cpus", "0.0000000001"},
		{"cpus", "1e3"},
		{"cpus", "1/2"},
		{"cpu-shares", "1"},
		{"cpu-shares", "262145"},
		{"pids-limit", "-2"},
		{"memory-swap", "64m"},
		{"memory-swap", "lots"},
		{"oom-score-adj", "1001"},
		{"ulimit", "nofiles=1"},
		{"ulimit", "nofile"},
		{"ulimit", "nofile=2:1"},
		{"ulimit", "nofile=a"},
		{"ulimit", "nofile=1:b"},
		{"cap-add", "CAP_FLY"},
		{"cap-drop", "everything"},
		{"device", "relative"},
		{"device", "/dev/a:/dev/b:rwx"},
		{"device", "/dev/a:/dev/b:rw:x"},
		{"device", "/dev/a:rel"},
		{"device", "/dev/a:/dev/b:rr"},
		{"security-opt", "seccomp=" + filepath.Join(dir, "missing.json")},
		{"security-opt", "seccomp="},
		{"security-opt", "no-new-privileges=maybe"},
		{"security-opt", "apparmor=unconfined"},
		{"security-opt", "bogus"},
		{"restart", "sometimes"},
		{"restart", "always:3"},
		{"restart", "on-failure:-1"},
		{"restart", "on-failure:x"},
		{"runtime", "../../bin/sh"},
		{"label", "=v"},
		{"label-file", filepath.Join(dir, "missing")},
		{"network", "container:"},
		{"network", "a/b"},
		{"publish", "80:80:80"},
		{"publish", "[::1]80"},
		{"dns", "example.com"},
		{"add-host", "db"},
		{"add-host", "db:nope"},
		{"mac-address", "02:42"},
		{"ip", "10.0.0.300"},
		{"network-alias", "-x"},
		{"log-opt", "max-size=big"},
		{"log-opt", "max-size=0"},
		{"log-opt", "max-file=0"},
		{"log-opt", "compress=true"},
		{"stop-signal", "SIGFOO"},
		{"stop-signal", "65"},
		{"stop-signal", "SIGRTMIN+40"},
		{"stop-timeout", "-2"},
		{"name", "a"},
		{"name", "-web"},
		{"name", "we b"},
		{"name", "web/1"},
	}
	for _, tt := range tests {
		t.Run(tt.flag+"="+tt.value, func(t *testing.T) {
			_, _, err := parse([]string{"--" + tt.flag, tt.value})
			if err == nil {
				t.Fatalf("--%s %q accepted", tt.flag, tt.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, "--"+tt.flag) && !strings.Contains(msg, tt.flag) || !strings.Contains(msg, strconv.Quote(tt.value)) || strings.Contains(msg, "\n") {
				t.Fatalf("--%s %q: error %q does not name flag and value on one line", tt.flag, tt.value, msg)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) && !errors.Is(err, errdefs.ErrNotImplemented) && !strings.Contains(msg, "invalid argument") {
				t.Fatalf("--%s %q: error %q has no kind", tt.flag, tt.value, msg)
			}
		})
	}
}

// TestRmConflictsWithRestart checks that --rm is refused with a restart
// policy other than no, as Docker does.
func TestRmConflictsWithRestart(t *testing.T) {
	for _, p := range []string{"always", "on-failure", "unless-stopped"} {
		if _, _, err := parse([]string{"--rm", "--restart", p}); err == nil || !strings.Contains(err.Error(), "--rm") {
			t.Errorf("--rm --restart %s: err %v", p, err)
		}
	}
}

// TestDuplicateMountPoint checks that two mounts on one target are refused.
func TestDuplicateMountPoint(t *testing.T) {
	if _, _, err := parse([]string{"-v", "/a:/x", "--tmpfs", "/x/"}); err == nil {
		t.Fatal("two mounts on /x accepted")
	}
}

// TestNoImage checks that Config refuses an empty image.
func TestNoImage(t *testing.T) {
	o := AddFlags(pflag.NewFlagSet("run", pflag.ContinueOnError))
	if _, err := o.Config("", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("empty image: %v", err)
	}
}
