package reference

import (
	"math/rand"
	"regexp"
	"testing"
)

// The regular expressions the hand matchers replace, as the oracle.
var (
	pathComponentRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	tagRe           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	domainRe        = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$`)
)

var matchCases = []string{
	"", "a", "A", "-", ".", "_", "__", "___", "a.b", "a..b", "a._b", "a__b", "a___b",
	"a-b", "a--b", "a-", "-a", "a.", ".a", "a_", "ab9", "Ab", "a:1", "a:", ":1",
	"localhost", "localhost:5000", "127.0.0.1:5000", "my-host.example.com",
	"-bad.com", "bad-.com", "a..com", "[::1]", "[::1]:5000", "[]", "[::1", "[g::1]",
	"[::1]:", "[::1]x", "host:5000x", "host:50:00", "latest", "v1.2.3-rc_1",
	".tag", "-tag", "_tag", "a b", "a/b", "é", "a\x00b",
}

func checkMatchers(t *testing.T, s string) {
	t.Helper()
	if got, want := validPathComponent(s), pathComponentRe.MatchString(s); got != want {
		t.Errorf("validPathComponent(%q) = %v, the expression says %v", s, got, want)
	}
	if got, want := validTag(s), tagRe.MatchString(s); got != want {
		t.Errorf("validTag(%q) = %v, the expression says %v", s, got, want)
	}
	if got, want := validDomain(s), domainRe.MatchString(s); got != want {
		t.Errorf("validDomain(%q) = %v, the expression says %v", s, got, want)
	}
}

func TestMatchersAgreeWithTheExpressions(t *testing.T) {
	for _, s := range matchCases {
		checkMatchers(t, s)
	}
	for _, n := range []int{127, 128, 129} {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		checkMatchers(t, string(b))
	}
	// Random strings over the alphabet the grammar cares about.
	const alphabet = "aZ09.-_:[]/fF@ "
	r := rand.New(rand.NewSource(1))
	for range 200000 {
		b := make([]byte, r.Intn(12))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		checkMatchers(t, string(b))
	}
}

func FuzzMatchers(f *testing.F) {
	for _, s := range matchCases {
		f.Add(s)
	}
	f.Fuzz(checkMatchers)
}
