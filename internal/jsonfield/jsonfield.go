// Package jsonfield finds records by one string field without decoding
// them: a byte search over what encoding/json wrote.
package jsonfield

import (
	"bytes"
	"encoding/json"
)

// Matcher reports whether a JSON object written by json.Marshal may
// have a string field with a given value. It never misses such an
// object (json.Marshal writes a field and its value one way only);
// it may match one that has not (the value inside another string is
// escaped, so only a field name repeated in a nested object can do
// that): callers decode what matches to be sure.
type Matcher struct{ needle []byte }

// New returns a Matcher for field (its JSON name) holding value.
func New(field, value string) Matcher {
	f, _ := json.Marshal(field) // strings always encode
	v, _ := json.Marshal(value)
	return Matcher{needle: append(append(f, ':'), v...)}
}

// Match reports whether object may hold the field with the value.
func (m Matcher) Match(object []byte) bool { return bytes.Contains(object, m.needle) }
