package cli

import (
	"bytes"
	"testing"
)

// TestDetachScanner: the detach keys end stdin wherever reads split
// them, the bytes before them still reach the process, and a sequence
// that only begins like the keys is passed on whole.
func TestDetachScanner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reads  []string
		want   string
		detach bool
	}{
		{"plain", []string{"abc\n"}, "abc\n", false},
		{"keys", []string{"ab\x10\x11cd"}, "ab", true},
		{"keys split across reads", []string{"ab\x10", "\x11"}, "ab", true},
		{"ctrl-p alone", []string{"a\x10b"}, "a\x10b", false},
		{"ctrl-p held then not keys", []string{"a\x10", "b"}, "a\x10b", false},
		{"ctrl-p twice then ctrl-q", []string{"\x10\x10\x11"}, "\x10", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := detachScanner{keys: defaultDetachKeys}
			var got []byte
			detached := false
			for _, r := range tc.reads {
				out, det := d.scan([]byte(r))
				got = append(got, out...)
				if det {
					detached = true
					break
				}
			}
			if !bytes.Equal(got, []byte(tc.want)) || detached != tc.detach {
				t.Errorf("got %q detach %v, want %q detach %v", got, detached, tc.want, tc.detach)
			}
		})
	}
	d := detachScanner{}
	if out, det := d.scan([]byte("\x10\x11")); det || string(out) != "\x10\x11" {
		t.Errorf("without keys: %q %v", out, det)
	}
}
