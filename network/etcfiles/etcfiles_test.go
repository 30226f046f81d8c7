package etcfiles

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHosts(t *testing.T) {
	got, err := Hosts(Config{
		Hostname:   "web",
		Self:       Host{Names: []string{"www", "web"}, IPs: []netip.Addr{netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("fd00::2")}},
		Peers:      []Host{{Names: []string{"db", "database"}, IPs: []netip.Addr{netip.MustParseAddr("10.1.0.3")}}},
		ExtraHosts: []string{"gw:10.1.0.1", "six:[fd00::1]", "raw6:fd00::9"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := localhost + "10.1.0.1\tgw\nfd00::1\tsix\nfd00::9\traw6\n" +
		"10.1.0.2\tweb www\nfd00::2\tweb www\n10.1.0.3\tdb database\n"
	if string(got) != want {
		t.Errorf("Hosts =\n%s\nwant\n%s", got, want)
	}
}

func TestHostsRefusesInjection(t *testing.T) {
	for _, c := range []Config{
		{ExtraHosts: []string{"a b:10.0.0.1"}},
		{ExtraHosts: []string{"name"}},
		{ExtraHosts: []string{"name:notanip"}},
		{Hostname: "x\n10.0.0.1 evil", Self: Host{IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}},
		{Peers: []Host{{Names: []string{"-bad"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}}},
	} {
		if _, err := Hosts(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("Hosts(%+v) = %v, want ErrInvalid", c, err)
		}
	}
}

const hostResolv = `# generated
nameserver 127.0.0.53
nameserver ::1
nameserver 192.0.2.53
search example.test corp.test
options edns0 ndots:2
`

func TestResolvConfDropsLoopbackResolvers(t *testing.T) {
	got, err := ResolvConf([]byte(hostResolv), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "nameserver 192.0.2.53\nsearch example.test corp.test\noptions edns0 ndots:2\n"
	if string(got) != want {
		t.Errorf("ResolvConf =\n%s\nwant\n%s", got, want)
	}
}

func TestResolvConfOverrides(t *testing.T) {
	got, err := ResolvConf([]byte(hostResolv), []string{"10.1.0.1", "fd00::1"}, []string{"."}, []string{"ndots:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "nameserver 10.1.0.1\nnameserver fd00::1\noptions ndots:1\n"
	if string(got) != want {
		t.Errorf("ResolvConf =\n%s\nwant\n%s", got, want)
	}
	if _, err := ResolvConf(nil, []string{"dns.example"}, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("--dns with a name: %v, want ErrInvalid", err)
	}
	if _, err := ResolvConf(nil, nil, []string{"a\nnameserver 1.1.1.1"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("search with a newline: %v, want ErrInvalid", err)
	}
}

func TestResolvConfOnlyLoopbackLeavesNoNameserver(t *testing.T) {
	got, err := ResolvConf([]byte("nameserver 127.0.0.1\n"), nil, nil, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("ResolvConf = %q, %v; want empty", got, err)
	}
}

func TestWriteReplacesSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{HostsFile, HostnameFile, ResolvConfFile} {
		if err := os.Symlink(victim, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	c := Config{Hostname: "box", Self: Host{IPs: []netip.Addr{netip.MustParseAddr("10.1.0.2")}},
		HostResolvConf: []byte("nameserver 127.0.0.1\n"), DNS: []string{"127.0.0.1"}}
	if err := Write(dir, c); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("write followed a symlink: victim now %q", b)
	}
	for n, want := range map[string]string{HostnameFile: "box\n", ResolvConfFile: "nameserver 127.0.0.1\n"} {
		fi, err := os.Lstat(filepath.Join(dir, n))
		b, _ := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 || string(b) != want {
			t.Errorf("%s: mode %v, content %q, err %v; want regular 0644 %q", n, fi.Mode(), b, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, HostsFile)); !strings.Contains(string(b), "10.1.0.2\tbox\n") {
		t.Errorf("hosts lacks own entry:\n%s", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("dir holds %d entries, want 3 (no temporary files)", len(ents))
	}
}

func TestWriteRefusesSymlinkedDir(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, Config{Hostname: "box"}); err == nil {
		t.Error("Write into a symlinked dir succeeded")
	}
}
