package cgroups

import (
	"strconv"
	"strings"
)

// parseList parses a cpuset list such as "0-3,7" into its members. An
// empty list is empty. Ranges must be ascending and members below 1<<16.
func parseList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a >= 1<<16 {
			return nil, invalidf("bad list entry %q in %q", part, s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b >= 1<<16 {
				return nil, invalidf("bad list range %q in %q", part, s)
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

// checkSubset fails with ErrInvalid when list names a member that is not
// in avail; what names the setting for the message.
func checkSubset(what, list, avail string) error {
	want, err := parseList(list)
	if err != nil {
		return invalidf("%s: %v", what, err)
	}
	have, err := parseList(avail)
	if err != nil {
		return invalidf("host %s list %q: %v", what, avail, err)
	}
	for i := range want {
		if !have[i] {
			return invalidf("%s %q names %d, which is not online (online: %s)", what, list, i, avail)
		}
	}
	return nil
}
