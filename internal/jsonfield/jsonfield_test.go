package jsonfield

import (
	"encoding/json"
	"testing"
)

type record struct {
	Name   string            `json:"name"`
	Parent string            `json:"parent,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// TestMatchFindsEveryRecordWithTheValue checks that Match never misses a
// record whose field holds the value, whatever characters it has, and
// that the value written inside another string does not match. (A
// nested object's own "parent" field may match: callers decode to be
// sure.)
func TestMatchFindsEveryRecordWithTheValue(t *testing.T) {
	values := []string{"a", "sha256:abc", "x<y>&z", `quo"te`, "back\\slash", "uni\u2028code", "é", ""}
	for _, v := range values {
		m := New("parent", v)
		b, err := json.Marshal(record{Name: "n", Parent: v, Labels: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if v != "" && !m.Match(b) {
			t.Errorf("%s does not match parent %q", b, v)
		}
		other, _ := json.Marshal(record{Name: "n", Parent: v + "x", Labels: map[string]string{"k": `"parent":"` + v + `"`}})
		if m.Match(other) {
			t.Errorf("%s matches parent %q", other, v)
		}
	}
}
