package capabilities

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Sets holds the five capability sets of a process, resolved from names.
type Sets struct {
	Bounding    Set `json:"bounding"`
	Effective   Set `json:"effective"`
	Permitted   Set `json:"permitted"`
	Inheritable Set `json:"inheritable"`
	Ambient     Set `json:"ambient"`
}

// Resolve turns the runtime spec's capability names into Sets, keeping
// only capabilities numbered up to hostLast (the host kernel's
// cap_last_cap). A name this package knows but the host kernel does not
// is left out and reported in skipped (callers warn about it, as runc
// does); a name nobody knows is an error wrapping ErrUnknown. A nil c
// yields empty sets: the process keeps no capability at all.
func Resolve(c *specs.LinuxCapabilities, hostLast Cap) (s Sets, skipped []string, err error) {
	if c == nil {
		return Sets{}, nil, nil
	}
	seen := map[string]bool{}
	parse := func(which string, list []string) (Set, error) {
		var out Set
		for _, n := range list {
			cp, err := Parse(n)
			if err != nil {
				return 0, fmt.Errorf("%s capabilities: %w", which, err)
			}
			if cp > hostLast {
				if !seen[cp.String()] {
					seen[cp.String()] = true
					skipped = append(skipped, cp.String())
				}
				continue
			}
			out = out.Add(cp)
		}
		return out, nil
	}
	if s.Bounding, err = parse("bounding", c.Bounding); err != nil {
		return Sets{}, nil, err
	}
	if s.Effective, err = parse("effective", c.Effective); err != nil {
		return Sets{}, nil, err
	}
	if s.Permitted, err = parse("permitted", c.Permitted); err != nil {
		return Sets{}, nil, err
	}
	if s.Inheritable, err = parse("inheritable", c.Inheritable); err != nil {
		return Sets{}, nil, err
	}
	if s.Ambient, err = parse("ambient", c.Ambient); err != nil {
		return Sets{}, nil, err
	}
	return s, skipped, nil
}
