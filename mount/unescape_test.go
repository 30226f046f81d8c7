package mount

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/proc`:              "/proc",
		`/run/a\040b`:        "/run/a b",
		`/x\134y`:            `/x\y`,
		`/tab\011`:           "/tab\t",
		`/short\04`:          `/short\04`,
		`/not\999octal\`:     `/not\999octal\`,
		`/nl\012\040\134end`: "/nl\n \\end",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
