package sysctl

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var all = Namespaces{IPC: true, Net: true, UTS: true}

func TestPath(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		{"net/ipv4/ip_forward", "net/ipv4/ip_forward"},
		{"/net/ipv4/conf/eth0.100/forwarding/", "net/ipv4/conf/eth0.100/forwarding"},
		{"kernel.shmmax", "kernel/shmmax"},
	} {
		got, err := Path(tc.key)
		if err != nil || got != tc.want {
			t.Errorf("Path(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ".", "net..ipv4", "net.ipv4.", ".net", "net/../kernel/core_pattern", "net/./x", "net//x", "net.\n.x", "../../etc/passwd", "net/ipv4/..", "kernel.shm_rmid_forced=1+kernel.core_pattern", "kernel.shm rmid", "net.ipv4.conf.eth\t0.rp_filter"} {
		if _, err := Path(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Path(%q) error = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestValidateAllowList(t *testing.T) {
	ok := map[string]Namespaces{
		"kernel.msgmax":               {IPC: true},
		"kernel.msgmnb":               {IPC: true},
		"kernel.sem":                  {IPC: true},
		"kernel.shmmax":               {IPC: true},
		"kernel.shm_rmid_forced":      {IPC: true},
		"fs.mqueue.msg_max":           {IPC: true},
		"net.ipv4.ip_forward":         {Net: true},
		"net/ipv4/conf/all/rp_filter": {Net: true},
		"kernel.hostname":             {UTS: true},
		"kernel.domainname":           {UTS: true},
	}
	for key, ns := range ok {
		if err := Validate(map[string]string{key: "1"}, ns); err != nil {
			t.Errorf("Validate(%s) with %+v: %v", key, ns, err)
		}
		if err := Validate(map[string]string{key: "1"}, Namespaces{}); !errors.Is(err, ErrNamespaceRequired) {
			t.Errorf("Validate(%s) without namespaces = %v, want ErrNamespaceRequired", key, err)
		}
	}
	for _, key := range []string{"kernel.core_pattern", "vm.overcommit_memory", "kernel.semx", "fs.file-max", "kernel.modprobe", "kernel/core_pattern", "user.max_user_namespaces", "kernel.sem_next"} {
		if err := Validate(map[string]string{key: "1"}, all); !errors.Is(err, ErrNotNamespaced) {
			t.Errorf("Validate(%s) = %v, want ErrNotNamespaced", key, err)
		}
	}
}

// TestValidateSmuggling covers the CVE-2022-0811 class: one value must
// never carry a second setting.
func TestValidateSmuggling(t *testing.T) {
	for _, v := range []string{"1\nkernel.core_pattern=|/evil", "1\n", "\n", "1\x00x", "1+kernel.core_pattern=|/evil", "kernel.core_pattern=x"} {
		err := Validate(map[string]string{"net.ipv4.ip_forward": v}, all)
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("value %q: err = %v, want ErrInvalidValue", v, err)
		}
	}
	for _, v := range []string{"1", "1024 65000", "250\t32000\t32\t128", "1+2", ""} {
		if err := Validate(map[string]string{"net.ipv4.ip_local_port_range": v}, all); err != nil {
			t.Errorf("value %q: %v", v, err)
		}
	}
}

func TestValidateFirstErrorIsDeterministic(t *testing.T) {
	m := map[string]string{"vm.swappiness": "1", "kernel.core_pattern": "x", "net.ipv4.ip_forward": "1"}
	for range 10 {
		err := Validate(m, all)
		if err == nil || err.Error() != "sysctl is not namespaced: kernel.core_pattern" {
			t.Fatalf("err = %v", err)
		}
	}
}

func TestFromSpec(t *testing.T) {
	ns := FromSpec(&specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.NetworkNamespace, Path: "/run/netns/x"},
		{Type: specs.UTSNamespace},
		{Type: specs.PIDNamespace},
	}})
	if ns != (Namespaces{Net: true, UTS: true}) {
		t.Errorf("FromSpec = %+v", ns)
	}
	if FromSpec(nil) != (Namespaces{}) {
		t.Error("FromSpec(nil) is not empty")
	}
}
