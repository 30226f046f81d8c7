package network

import (
	"reflect"
	"testing"
)

func TestSplitRule(t *testing.T) {
	got := splitRule(`-A CNI-ISOLATION-STAGE-2 -o br0 -m comment --comment "CNI firewall (a \"b\")" -j DROP`)
	want := []string{"-A", "CNI-ISOLATION-STAGE-2", "-o", "br0", "-m", "comment", "--comment", `CNI firewall (a "b")`, "-j", "DROP"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitRule = %q, want %q", got, want)
	}
	if !namesInterface(got, "br0") || namesInterface(got, "br") {
		t.Error("namesInterface matched wrongly")
	}
}
