package network

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

func TestConflistRoundTrip(t *testing.T) {
	n := &Network{NetworkConfig: NetworkConfig{Name: "n1", Subnet: "10.9.0.0/24", Gateway: "10.9.0.1",
		Internal: true, IPv6: true, Subnet6: "fd00:1::/64", Isolate: true, Labels: map[string]string{"a": "b"}},
		Bridge: "berth-x", Gateway6: "fd00:1::1", OwnSNAT: true}
	b, err := conflist(n, "/state/ipam", true)
	if err != nil {
		t.Fatal(err)
	}
	list, err := libcni.ConfListFromBytes(b)
	if err != nil {
		t.Fatalf("libcni refuses the conflist: %v\n%s", err, b)
	}
	var types []string
	for _, p := range list.Plugins {
		types = append(types, p.Network.Type)
	}
	if got := strings.Join(types, ","); got != "bridge,portmap,firewall" {
		t.Errorf("plugins = %s, want bridge,portmap,firewall", got)
	}
	s := string(b)
	for _, want := range []string{`"ipMasq": false`, `"snat": false`, `"routes": []`, `"ingressPolicy": "same-bridge"`, `"dataDir": "/state/ipam"`} {
		if !strings.Contains(s, want) {
			t.Errorf("conflist lacks %s:\n%s", want, s)
		}
	}
	back, err := parseConflist(b)
	if err != nil {
		t.Fatal(err)
	}
	back.ConfPath = ""
	if back.Subnet != n.Subnet || back.Gateway != n.Gateway || back.Subnet6 != n.Subnet6 || back.Gateway6 != n.Gateway6 ||
		back.Bridge != n.Bridge || !back.Internal || !back.IPv6 || !back.Isolate || back.Labels["a"] != "b" || !back.Owned || !back.OwnSNAT {
		t.Errorf("parsed back %+v, want %+v", back, n)
	}
}

func TestConflistWithoutIsolationSkipsFirewall(t *testing.T) {
	n := &Network{NetworkConfig: NetworkConfig{Name: "n1", Subnet: "10.9.0.0/24", Gateway: "10.9.0.1"}, Bridge: "b"}
	for _, accepts := range []bool{true, false} {
		b, err := conflist(n, "/i", accepts)
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(string(b), `"firewall"`); has == accepts {
			t.Errorf("FORWARD accepts=%v: firewall plugin present=%v", accepts, has)
		}
		if !strings.Contains(string(b), `"dst": "0.0.0.0/0"`) {
			t.Errorf("non-internal network without a default route:\n%s", b)
		}
	}
}

func TestValidIDs(t *testing.T) {
	for _, c := range [][2]string{{"../x", "eth0"}, {"", "eth0"}, {"a/b", "eth0"}, {"ok", "../x"}, {"ok", "averyveryverylongname"}, {"ok", ""}} {
		if err := validIDs(c[0], c[1]); err == nil {
			t.Errorf("validIDs(%q, %q) accepted", c[0], c[1])
		}
	}
	if err := validIDs("0123abc_d.e-f", "eth1"); err != nil {
		t.Errorf("validIDs refused a good pair: %v", err)
	}
}

func TestHostIPv6(t *testing.T) {
	saved := ipv6Sysctl
	defer func() { ipv6Sysctl = saved }()
	dir := t.TempDir()
	for content, ok := range map[string]bool{"0\n": true, "1\n": false, "": false} {
		ipv6Sysctl = filepath.Join(dir, "disable_ipv6")
		if content == "" {
			ipv6Sysctl = filepath.Join(dir, "missing")
		} else if err := os.WriteFile(ipv6Sysctl, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := HostIPv6(); (err == nil) != ok || (err != nil && !errors.Is(err, ErrNotSupported)) {
			t.Errorf("disable_ipv6 %q: HostIPv6() = %v", content, err)
		}
	}
}

func TestWithoutIdlePortmapDropsOnlyPortmapWithoutMappings(t *testing.T) {
	list, err := libcni.ConfListFromBytes([]byte(`{"cniVersion": "1.0.0", "name": "n", "plugins": [
		{"type": "bridge", "bridge": "b0"},
		{"type": "portmap", "capabilities": {"portMappings": true}},
		{"type": "portmap", "runtimeConfig": {"portMappings": [{"hostPort": 1, "containerPort": 2, "protocol": "tcp"}]}},
		{"type": "firewall"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := withoutIdlePortmap(list)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range got.Plugins {
		types = append(types, p.Network.Type)
	}
	if s := strings.Join(types, ","); s != "bridge,portmap,firewall" || got.Name != "n" || got.CNIVersion != "1.0.0" {
		t.Errorf("plugins = %s (name %q, version %q), want bridge,portmap,firewall of n 1.0.0", s, got.Name, got.CNIVersion)
	}
	if !strings.Contains(string(got.Bytes), `"runtimeConfig"`) {
		t.Errorf("the portmap with mappings lost its runtimeConfig: %s", got.Bytes)
	}
}
