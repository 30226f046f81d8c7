package network

import (
	"slices"
	"testing"
)

func TestIPv4Only(t *testing.T) {
	for _, c := range []struct {
		stdin string
		want  bool
	}{
		{`{"prevResult":{"ips":[{"address":"10.1.0.2/24"}]}}`, true},
		{`{"prevResult":{"ips":[{"address":"10.1.0.2/24"},{"address":"fd00::2/64"}]}}`, false},
		{`{"prevResult":{"ips":[{"address":"fd00::2/64"}]}}`, false},
		{`{"prevResult":{"ips":[]}}`, false},
		{`{"name":"n"}`, false},
		{`{"prevResult":{"ips":[{"address":"bad"}]}}`, false},
		{`not json`, false},
	} {
		if got := ipv4Only([]byte(c.stdin)); got != c.want {
			t.Errorf("ipv4Only(%s) = %v, want %v", c.stdin, got, c.want)
		}
	}
}

func TestWithPath(t *testing.T) {
	got := withPath([]string{"A=1", "PATH=/usr/bin:/usr/sbin", "CNI_COMMAND=DEL"}, "/s/ipv4-path")
	want := []string{"A=1", "CNI_COMMAND=DEL", "PATH=/s/ipv4-path"}
	if !slices.Equal(got, want) {
		t.Errorf("withPath = %q, want %q", got, want)
	}
}
