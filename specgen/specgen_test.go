package specgen

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/specgen/template"
)

// testRootfs makes a root filesystem with an /etc/passwd and /etc/group.
func testRootfs(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbroken\nnobody:x:65534:65534::/:/bin/false\n",
		"group":  "root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:app\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNew(t *testing.T) {
	rootfs := testRootfs(t)
	tests := []struct {
		name string
		img  ocispec.ImageConfig
		opts []Option
		// want checks the spec made.
		args []string
		env  []string
		cwd  string
		user specs.User
	}{
		{name: "entrypoint and cmd", img: ocispec.ImageConfig{Entrypoint: []string{"/bin/app"}, Cmd: []string{"-v"}},
			args: []string{"/bin/app", "-v"}, env: []string{DefaultPath}, cwd: "/"},
		{name: "cmd replaced, entrypoint kept", img: ocispec.ImageConfig{Entrypoint: []string{"/bin/app"}, Cmd: []string{"-v"}}, opts: []Option{WithCmd("-q")},
			args: []string{"/bin/app", "-q"}, env: []string{DefaultPath}, cwd: "/"},
		{name: "args replace both", img: ocispec.ImageConfig{Entrypoint: []string{"/bin/app"}, Cmd: []string{"-v"}}, opts: []Option{WithArgs("sh")},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/"},
		{name: "env merged by key", img: ocispec.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin", "A=1", "B=2"}}, opts: []Option{WithEnv("A=3", "C=4")},
			args: []string{"sh"}, env: []string{"PATH=/bin", "A=3", "B=2", "C=4"}, cwd: "/"},
		{name: "workdir cleaned", img: ocispec.ImageConfig{Cmd: []string{"sh"}, WorkingDir: "/srv//app/"},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/srv/app"},
		{name: "numeric user and group", img: ocispec.ImageConfig{Cmd: []string{"sh"}, User: "5:6"},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/", user: specs.User{UID: 5, GID: 6}},
		{name: "user name from passwd, groups from group", img: ocispec.ImageConfig{Cmd: []string{"sh"}, User: "app"}, opts: []Option{WithRootfs(rootfs)},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/", user: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 29}}},
		{name: "numeric uid found in passwd", img: ocispec.ImageConfig{Cmd: []string{"sh"}, User: "65534"}, opts: []Option{WithRootfs(rootfs)},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/", user: specs.User{UID: 65534, GID: 65534}},
		{name: "user and group names", img: ocispec.ImageConfig{Cmd: []string{"sh"}, User: "app:wheel"}, opts: []Option{WithRootfs(rootfs)},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/", user: specs.User{UID: 1000, GID: 10}},
		{name: "option user replaces image's", img: ocispec.ImageConfig{Cmd: []string{"sh"}, User: "app"}, opts: []Option{WithUser("7")},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/", user: specs.User{UID: 7}},
		{name: "option workdir replaces image's", img: ocispec.ImageConfig{Cmd: []string{"sh"}, WorkingDir: "/srv"}, opts: []Option{WithWorkingDir("/tmp/../work")},
			args: []string{"sh"}, env: []string{DefaultPath}, cwd: "/work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.img, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Process
			if !reflect.DeepEqual(p.Args, tt.args) || !reflect.DeepEqual(p.Env, tt.env) || p.Cwd != tt.cwd || !reflect.DeepEqual(p.User, tt.user) {
				t.Errorf("got args %q env %q cwd %q user %+v\nwant args %q env %q cwd %q user %+v", p.Args, p.Env, p.Cwd, p.User, tt.args, tt.env, tt.cwd, tt.user)
			}
		})
	}
}

func TestNewRefusesHostileImageConfig(t *testing.T) {
	rootfs := testRootfs(t)
	if err := os.Symlink("/etc/shadow", filepath.Join(rootfs, "escape")); err != nil {
		t.Fatal(err)
	}
	sh := []string{"sh"}
	tests := []struct {
		name string
		img  ocispec.ImageConfig
		opts []Option
		want string
	}{
		{"no command", ocispec.ImageConfig{}, nil, "no command"},
		{"NUL in argument", ocispec.ImageConfig{Cmd: []string{"sh", "a\x00b"}}, nil, "NUL"},
		{"relative workdir", ocispec.ImageConfig{Cmd: sh, WorkingDir: "srv"}, nil, "not an absolute path"},
		{"relative workdir option", ocispec.ImageConfig{Cmd: sh}, []Option{WithWorkingDir("srv")}, "not an absolute path"},
		{"env without =", ocispec.ImageConfig{Cmd: sh, Env: []string{"JUSTAKEY"}}, nil, "not KEY=VALUE"},
		{"env with empty key", ocispec.ImageConfig{Cmd: sh, Env: []string{"=x"}}, nil, "not KEY=VALUE"},
		{"absurd env", ocispec.ImageConfig{Cmd: sh, Env: []string{"A=" + strings.Repeat("x", 2<<20)}}, nil, "over the limit"},
		{"too many env entries", ocispec.ImageConfig{Cmd: sh, Env: make([]string, maxEnv+1)}, nil, "over the limit"},
		{"user name with slash", ocispec.ImageConfig{Cmd: sh, User: "../../etc/shadow"}, []Option{WithRootfs(rootfs)}, "not a user or group name"},
		{"group name with slash", ocispec.ImageConfig{Cmd: sh, User: "app:a/b"}, []Option{WithRootfs(rootfs)}, "not a user or group name"},
		{"user name with newline", ocispec.ImageConfig{Cmd: sh, User: "root\nx"}, []Option{WithRootfs(rootfs)}, "not a user or group name"},
		{"unknown user", ocispec.ImageConfig{Cmd: sh, User: "ghost"}, []Option{WithRootfs(rootfs)}, "no such user"},
		{"unknown group", ocispec.ImageConfig{Cmd: sh, User: "app:ghosts"}, []Option{WithRootfs(rootfs)}, "no such group"},
		{"name without rootfs", ocispec.ImageConfig{Cmd: sh, User: "app"}, nil, "resolved only with the root filesystem"},
		{"uid -1", ocispec.ImageConfig{Cmd: sh, User: "4294967295"}, nil, "resolved only"},
		{"name without passwd", ocispec.ImageConfig{Cmd: sh, User: "app"}, []Option{WithRootfs(t.TempDir())}, "passwd"},
		{"relative volume", ocispec.ImageConfig{Cmd: sh, Volumes: map[string]struct{}{"data": {}}}, nil, "volume"},
		{"stop signal with junk", ocispec.ImageConfig{Cmd: sh, StopSignal: "TERM; rm -rf /"}, nil, "stop signal"},
		{"relative mount", ocispec.ImageConfig{Cmd: sh}, []Option{WithMounts(specs.Mount{Destination: "data"})}, "mount destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.img, tt.opts...)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an ErrInvalid error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaultsAndOptions(t *testing.T) {
	limit := int64(10)
	res := specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
	s, err := New(ocispec.ImageConfig{Cmd: []string{"sh"}, StopSignal: "SIGQUIT", Volumes: map[string]struct{}{"/data/": {}}},
		WithHostname("box"), WithReadonlyRootfs(true), WithTerminal(true), WithCapabilities("CAP_KILL"),
		WithResources(res), WithCgroupsPath("/x"), WithNamespaces(specs.LinuxNamespace{Type: specs.MountNamespace}),
		WithMounts(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations[AnnotationStopSignal] != "SIGQUIT" {
		t.Errorf("stop signal annotation: %v", s.Annotations)
	}
	if s.Hostname != "box" || !s.Root.Readonly || !s.Process.Terminal || s.Linux.CgroupsPath != "/x" {
		t.Errorf("options not applied: %+v %+v", s.Root, s.Process)
	}
	if c := s.Process.Capabilities; !reflect.DeepEqual(c.Bounding, []string{"CAP_KILL"}) || !reflect.DeepEqual(c.Permitted, []string{"CAP_KILL"}) {
		t.Errorf("capabilities: %+v", c)
	}
	if r := s.Linux.Resources; r.Pids == nil || *r.Pids.Limit != 10 || len(r.Devices) != 1 || r.Devices[0].Allow {
		t.Errorf("resources must keep the deny-all device rule: %+v", r)
	}
	if len(s.Linux.Namespaces) != 1 || s.Mounts[len(s.Mounts)-1].Destination != "/data" {
		t.Errorf("namespaces %v, last mount %v", s.Linux.Namespaces, s.Mounts[len(s.Mounts)-1])
	}
	vols, err := Volumes(ocispec.ImageConfig{Volumes: map[string]struct{}{"/data/": {}, "/a": {}, "/data": {}}})
	if err != nil || !reflect.DeepEqual(vols, []string{"/a", "/data"}) {
		t.Errorf("volumes %v, %v", vols, err)
	}
	// Specs do not share the package's defaults.
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	s.Linux.MaskedPaths[0] = "/x"
	if template.HardenedCapabilities[0] == "CAP_SYS_ADMIN" || template.HardenedMaskedPaths[0] == "/x" {
		t.Fatal("New's spec aliases package defaults")
	}
}
