package cgroups

import (
	"errors"
	"reflect"
	"testing"
)

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"/a/b/../c":         "/a/c",
		"/../../x":          "/x",
		"a/b":               "a/b",
		"../../etc":         "etc",
		"a/../../b":         "b",
		"./":                "",
		"/":                 "/",
		"berth-test-1//x/.": "berth-test-1/x",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInnerPath(t *testing.T) {
	cases := []struct {
		path, id, want string
		err            error
	}{
		{"", "ctr1", "ctr1", nil},
		{"/berth/ctr1", "ctr1", "/berth/ctr1", nil},
		{"rel/../../ctr", "x", "ctr", nil},
		{"system.slice:berth:ctr1", "ctr1", "", ErrSystemdUnavailable},
		{"/", "ctr1", "", ErrInvalid},
		{"", "", "", ErrInvalid},
		{"", "..", "", ErrInvalid},
	}
	for _, c := range cases {
		got, err := innerPath(c.path, c.id)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("innerPath(%q, %q) error = %v, want %v", c.path, c.id, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("innerPath(%q, %q) = %q, %v; want %q", c.path, c.id, got, err, c.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	data := "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/user.slice/s.scope\n"
	got := parseProcCgroup(data)
	want := map[string]string{"name=systemd": "/", "memory": "/process_api/abc", "cpu": "/x", "cpuacct": "/x", "": "/user.slice/s.scope"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

const sampleMountinfo = `22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /sub /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 22 0:40 / /mnt/other/cpuset rw,relatime - cgroup cgroup rw,cpuset
51 31 0:41 / /sys/fs/cgroup/with\040space rw - cgroup cgroup rw,pids,release_agent=/x
`

func TestParseMountinfo(t *testing.T) {
	got := parseMountinfo(sampleMountinfo, "/sys/fs/cgroup")
	want := []mount{
		{point: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: []string{"cpu", "cpuacct"}},
		{point: "/sys/fs/cgroup/memory", root: "/sub", controllers: []string{"memory"}},
		{point: "/sys/fs/cgroup/systemd", root: "/", controllers: []string{"name=systemd"}},
		{point: "/sys/fs/cgroup/with space", root: "/", controllers: []string{"pids"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestDirs(t *testing.T) {
	mem := mount{point: "/sys/fs/cgroup/memory", root: "/sub"}
	if got := v1Dir(mem, "/abs/c", "/sub/own"); got != "/sys/fs/cgroup/memory/abs/c" {
		t.Errorf("absolute v1: %s", got)
	}
	if got := v1Dir(mem, "c", "/sub/own"); got != "/sys/fs/cgroup/memory/own/c" {
		t.Errorf("relative v1 under bind-mounted sub-tree: %s", got)
	}
	cpu := mount{point: "/sys/fs/cgroup/cpu", root: "/"}
	if got := v1Dir(cpu, "c", "/user/1"); got != "/sys/fs/cgroup/cpu/user/1/c" {
		t.Errorf("relative v1: %s", got)
	}
	if got := v2Dir("/sys/fs/cgroup", "c", "/user.slice/s.scope", true); got != "/sys/fs/cgroup/user.slice/c" {
		t.Errorf("relative pure v2 goes below the parent of the own cgroup: %s", got)
	}
	if got := v2Dir("/sys/fs/cgroup/unified", "c", "/a", false); got != "/sys/fs/cgroup/unified/a/c" {
		t.Errorf("relative hybrid v2: %s", got)
	}
	if got := v2Dir("/sys/fs/cgroup", "/x/c", "/a", true); got != "/sys/fs/cgroup/x/c" {
		t.Errorf("absolute v2: %s", got)
	}
}

func TestNewSystemd(t *testing.T) {
	if _, err := New(Config{Path: "machine.slice:berth:abc", ID: "abc"}); !errors.Is(err, ErrSystemdUnavailable) {
		t.Fatalf("slice:prefix:name path: %v", err)
	}
	if _, err := New(Config{ID: "abc", Systemd: true}); !errors.Is(err, ErrSystemdUnavailable) {
		t.Fatalf("Systemd flag: %v", err)
	}
}
