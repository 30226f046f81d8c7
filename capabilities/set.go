package capabilities

import "math/bits"

// Set is a set of capabilities as a bit mask, bit n standing for Cap(n),
// the layout the kernel uses in /proc/<pid>/status (CapEff and friends).
type Set uint64

// Add returns s with c added.
func (s Set) Add(c Cap) Set { return s | 1<<c }

// Has reports whether c is in s.
func (s Set) Has(c Cap) bool { return s&(1<<c) != 0 }

// Caps lists the capabilities in s in ascending order.
func (s Set) Caps() []Cap {
	out := make([]Cap, 0, bits.OnesCount64(uint64(s)))
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, Cap(bits.TrailingZeros64(v)))
	}
	return out
}

// Names lists the kernel names of the capabilities in s in ascending order.
func (s Set) Names() []string {
	caps := s.Caps()
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = c.String()
	}
	return out
}

// UpTo returns the set of every capability from 0 to last inclusive.
func UpTo(last Cap) Set {
	if last >= 63 {
		return ^Set(0)
	}
	return Set(1)<<(last+1) - 1
}
