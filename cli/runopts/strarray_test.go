package runopts

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// TestStringArrayAsPflags: StringArrayVarP parses, prints and types its
// values as pflag's StringArrayVarP does.
func TestStringArrayAsPflags(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-e", "A=1"},
		{"-e", "A=1,B=2", "--env", `Q="x"`, "-e", "sp ace", "-e", ""},
	} {
		var ours, theirs []string
		a := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		StringArrayVarP(a, &ours, "env", "e", "")
		b := pflag.NewFlagSet("pflag", pflag.ContinueOnError)
		b.StringArrayVarP(&theirs, "env", "e", nil, "")
		if err := a.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := b.Parse(args); err != nil {
			t.Fatal(err)
		}
		fa, fb := a.Lookup("env"), b.Lookup("env")
		if !slices.Equal(ours, theirs) || fa.Value.String() != fb.Value.String() || fa.Value.Type() != fb.Value.Type() || fa.DefValue != fb.DefValue {
			t.Errorf("%q: ours %q %s %s (default %s), pflag's %q %s %s (default %s)", args,
				ours, fa.Value, fa.Value.Type(), fa.DefValue, theirs, fb.Value, fb.Value.Type(), fb.DefValue)
		}
		sa, sb := fa.Value.(pflag.SliceValue), fb.Value.(pflag.SliceValue)
		_ = sa.Append("x")
		_ = sb.Append("x")
		if !slices.Equal(sa.GetSlice(), sb.GetSlice()) {
			t.Errorf("%q: after Append: %q, pflag's %q", args, sa.GetSlice(), sb.GetSlice())
		}
		_ = sa.Replace([]string{"r"})
		_ = sb.Replace([]string{"r"})
		if !slices.Equal(ours, theirs) {
			t.Errorf("%q: after Replace: %q, pflag's %q", args, ours, theirs)
		}
	}
}
