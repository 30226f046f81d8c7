package main

import (
	"errors"
	"fmt"
	"strings"
)

// runtimeSpec is one runtime under measurement: a label, the binary and
// the global flags to put before every subcommand.
type runtimeSpec struct {
	name   string
	path   string
	global []string
}

// errBadRuntime reports a -runtime flag that does not parse.
var errBadRuntime = errors.New("bad -runtime value")

// parseRuntime parses "name=/path/to/bin [global flags...]".
func parseRuntime(v string) (runtimeSpec, error) {
	name, rest, ok := strings.Cut(v, "=")
	fields := strings.Fields(rest)
	if !ok || strings.TrimSpace(name) == "" || len(fields) == 0 {
		return runtimeSpec{}, fmt.Errorf("%w %q: want name=/path/to/runtime [global flags]", errBadRuntime, v)
	}
	return runtimeSpec{name: strings.TrimSpace(name), path: fields[0], global: fields[1:]}, nil
}

// runtimeList collects repeated -runtime flags.
type runtimeList []runtimeSpec

func (l *runtimeList) String() string {
	var s []string
	for _, r := range *l {
		s = append(s, r.name+"="+r.path)
	}
	return strings.Join(s, ",")
}

func (l *runtimeList) Set(v string) error {
	r, err := parseRuntime(v)
	if err != nil {
		return err
	}
	*l = append(*l, r)
	return nil
}
