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

// Resolve turns the runtime spec's capability names into Sets the way
// runc 1.1 does, never failing: a name that is no capability (see Parse)
// or one the host kernel lacks (numbered above hostLast) is left out and
// described in warnings, for the caller to print; an ambient capability
// that is not also permitted and inheritable, which the kernel would
// refuse to raise, is left out of Ambient silently (runc's own spec
// template asks for such ambient capabilities). A nil c yields empty
// sets: the process keeps no capability at all.
func Resolve(c *specs.LinuxCapabilities, hostLast Cap) (s Sets, warnings []string) {
	if c == nil {
		return Sets{}, nil
	}
	var ignored []string
	seen := map[string]bool{}
	parse := func(list []string) Set {
		var out Set
		for _, n := range list {
			cp, err := Parse(n)
			if err != nil || cp > hostLast {
				if !seen[n] {
					seen[n] = true
					ignored = append(ignored, n)
				}
				continue
			}
			out = out.Add(cp)
		}
		return out
	}
	s = Sets{
		Bounding:    parse(c.Bounding),
		Effective:   parse(c.Effective),
		Permitted:   parse(c.Permitted),
		Inheritable: parse(c.Inheritable),
		Ambient:     parse(c.Ambient),
	}
	if len(ignored) > 0 {
		warnings = append(warnings, fmt.Sprintf("ignoring unknown or unavailable capabilities: %v", ignored))
	}
	s.Ambient &= s.Permitted & s.Inheritable
	return s, warnings
}
