package ports

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Mapping
	}{
		{"8080:80", []Mapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{"127.0.0.1:8080:80", []Mapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{"127.0.0.1::80", []Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}},
		{"80", []Mapping{{ContainerPort: 80, Protocol: "tcp"}}},
		{"53/udp", []Mapping{{ContainerPort: 53, Protocol: "udp"}}},
		{"53:53/TCP", []Mapping{{HostPort: 53, ContainerPort: 53, Protocol: "tcp"}}},
		{"[fd00::1]:8080:80", []Mapping{{HostIP: "fd00::1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{"8000-8001:80-81", []Mapping{
			{HostPort: 8000, ContainerPort: 80, Protocol: "tcp"},
			{HostPort: 8001, ContainerPort: 81, Protocol: "tcp"}}},
		{"80-81", []Mapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 81, Protocol: "tcp"}}},
		{"8000-8010:80", []Mapping{{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Protocol: "tcp"}}},
	} {
		got, err := Parse(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	for _, in := range []string{"", "0", "65536", "80/icmp", "a:80", "::1:80:80", "1.2.3:80:80",
		"8000-8010:80-81", "90-80", "[::1]80", "[1.2.3.4]:80:80", "[::1]:8080:80", "[::ffff:127.0.0.1]::80", "1:2:3:4", "-1", "80-", "+80"} {
		if got, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestParseAllRefusesDuplicateHostPort(t *testing.T) {
	if _, err := ParseAll([]string{"8080:80", "8080:81"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseAll = %v, want ErrInvalid", err)
	}
	if _, err := ParseAll([]string{"8080:80", "8080:80/udp"}); err != nil {
		t.Errorf("tcp and udp on one port: %v", err)
	}
}

func TestResolvePicksFreePort(t *testing.T) {
	ms, err := Resolve([]Mapping{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}, nil)
	if err != nil || ms[0].HostPort == 0 {
		t.Fatalf("Resolve = %+v, %v", ms, err)
	}
}

func TestResolveRefusesPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	_, err = Resolve([]Mapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "tcp"}}, nil)
	if !errors.Is(err, ErrInUse) {
		t.Errorf("Resolve(port in use) = %v, want ErrInUse", err)
	}
	// A host range skips the taken port.
	ms, err := Resolve([]Mapping{{HostIP: "127.0.0.1", HostPort: port, HostPortEnd: port + 1, ContainerPort: 80, Protocol: "tcp"}}, nil)
	if err == nil && ms[0].HostPort != port+1 {
		t.Errorf("range resolved to %d, want %d", ms[0].HostPort, port+1)
	}
}

func TestResolveRefusesPortPublishedElsewhere(t *testing.T) {
	taken := []Mapping{{HostPort: 40000, ContainerPort: 80, Protocol: "tcp"}}
	_, err := Resolve([]Mapping{{HostIP: "127.0.0.1", HostPort: 40000, ContainerPort: 81, Protocol: "tcp"}}, taken)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "another container") {
		t.Errorf("Resolve = %v, want ErrInUse by another container", err)
	}
}

func TestRuntimeConfig(t *testing.T) {
	got := RuntimeConfig([]Mapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}})
	want := []map[string]any{{"hostIP": "127.0.0.1", "hostPort": 8080, "containerPort": 80, "protocol": "tcp"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RuntimeConfig = %v, want %v", got, want)
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"8080:80", "127.0.0.1::80/udp", "[fd00::1]:1-2:3-4", "8000-8010:80", "80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if len(ms) == 0 {
			t.Fatalf("Parse(%q) returned no mapping and no error", s)
		}
		for _, m := range ms {
			if m.ContainerPort == 0 || (m.Protocol != "tcp" && m.Protocol != "udp" && m.Protocol != "sctp") ||
				(m.HostPortEnd != 0 && m.HostPortEnd < m.HostPort) {
				t.Fatalf("Parse(%q) gave bad mapping %+v", s, m)
			}
			if m.HostIP != "" && net.ParseIP(m.HostIP) == nil {
				t.Fatalf("Parse(%q) gave bad host IP %q", s, m.HostIP)
			}
		}
	})
}
