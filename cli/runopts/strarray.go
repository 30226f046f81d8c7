package runopts

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// StringArrayVarP defines a repeatable string flag, as pflag's
// StringArrayVarP with no default: each use adds one value, commas and
// all. pflag's own formats the default of every such flag through
// encoding/csv when it is defined, a 4 kB buffer each: with the twenty-odd
// of run and create, those buffers were an eighth of the CLI's page
// faults at every start. This one formats only when printed.
func StringArrayVarP(fs *pflag.FlagSet, p *[]string, name, short, usage string) {
	*p = nil
	fs.VarP(&stringArray{value: p}, name, short, usage)
}

// stringArray is pflag's stringArray Value: the first Set replaces the
// default, later ones append.
type stringArray struct {
	value   *[]string
	changed bool
}

func (s *stringArray) Set(v string) error {
	if !s.changed {
		*s.value = []string{v}
		s.changed = true
		return nil
	}
	*s.value = append(*s.value, v)
	return nil
}

// Append, Replace and GetSlice make it a pflag.SliceValue, as pflag's.
func (s *stringArray) Append(v string) error {
	*s.value = append(*s.value, v)
	return nil
}

func (s *stringArray) Replace(vs []string) error {
	*s.value = append([]string(nil), vs...)
	return nil
}

func (s *stringArray) GetSlice() []string { return append([]string{}, *s.value...) }

func (s *stringArray) Type() string { return "stringArray" }

// String is what pflag's prints: the values as one CSV record, in
// brackets.
func (s *stringArray) String() string {
	if len(*s.value) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(*s.value)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}
