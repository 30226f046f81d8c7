package runopts

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/container"
)

// minMemory is the smallest --memory Docker accepts: below it the
// container's own runtime cannot start.
const minMemory = 6 << 20

// resources converts --memory, --cpus, --cpu-shares, --pids-limit,
// --memory-swap, --cpuset-cpus, --cpuset-mems, --oom-score-adj and
// --ulimit.
func (o *Options) resources(c *container.Config) error {
	r := &c.Resources
	if o.memory != "" {
		n, err := parseBytes(o.memory)
		if err != nil {
			return flagError("memory", o.memory, "%v", err)
		}
		if n != 0 && n < minMemory {
			return flagError("memory", o.memory, "the minimum is 6MiB")
		}
		r.Memory = n
	}
	if o.cpus != "" {
		n, err := parseNanoCPUs(o.cpus)
		if err != nil {
			return flagError("cpus", o.cpus, "%v", err)
		}
		r.NanoCPUs = n
	}
	if o.cpuShares == 1 || o.cpuShares > 262144 {
		return flagError("cpu-shares", strconv.FormatUint(o.cpuShares, 10), "want 2 to 262144 (or 0 for the default)")
	}
	r.CPUShares = o.cpuShares
	switch {
	case o.pidsLimit < -1:
		return flagError("pids-limit", strconv.FormatInt(o.pidsLimit, 10), "want a positive number, or -1 or 0 for unlimited")
	case o.pidsLimit > 0:
		r.PidsLimit = o.pidsLimit
	}
	switch {
	case o.memorySwap == "-1":
		r.MemorySwap = -1
	case o.memorySwap != "":
		n, err := parseBytes(o.memorySwap)
		if err != nil {
			return flagError("memory-swap", o.memorySwap, "%v", err)
		}
		if r.Memory == 0 || n < r.Memory {
			return flagError("memory-swap", o.memorySwap, "set --memory too, at most this (it counts memory plus swap)")
		}
		r.MemorySwap = n
	}
	r.CpusetCpus, r.CpusetMems = o.cpusetCpus, o.cpusetMems
	if o.oomScoreAdj < -1000 || o.oomScoreAdj > 1000 {
		return flagError("oom-score-adj", strconv.Itoa(o.oomScoreAdj), "want -1000 to 1000")
	}
	c.OOMScoreAdj = o.oomScoreAdj
	seen := map[string]bool{}
	for _, u := range o.ulimits {
		ul, err := parseUlimit(u)
		if err != nil {
			return err
		}
		if seen[ul.Name] {
			return flagError("ulimit", u, "%s given twice", ul.Name)
		}
		seen[ul.Name] = true
		c.Ulimits = append(c.Ulimits, ul)
	}
	return nil
}

var sizeRE = lazyRE(`^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtTpP]?)[iI]?[bB]?$`)

// parseBytes reads a size as Docker does: a number of bytes, or a
// decimal with a binary unit (k, m, g, t, p; "b", "kb", "KiB" alike).
func parseBytes(s string) (int64, error) {
	m := sizeRE().FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a size (want bytes or a number with k, m, g, t or p)")
	}
	mult := int64(1)
	if m[2] != "" {
		mult <<= 10 * (strings.Index("kmgtp", strings.ToLower(m[2])) + 1)
	}
	f, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	f.Mul(f, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(f.Num(), f.Denom())
	if !n.IsInt64() {
		return 0, fmt.Errorf("too large")
	}
	return n.Int64(), nil
}

// parseNanoCPUs reads --cpus as an exact decimal in billionths.
func parseNanoCPUs(s string) (int64, error) {
	f, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/eE") {
		return 0, fmt.Errorf("not a decimal number")
	}
	if f.Sign() < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	f.Mul(f, big.NewRat(1e9, 1))
	if !f.IsInt() {
		return 0, fmt.Errorf("too precise (at most 9 decimals)")
	}
	if !f.Num().IsInt64() {
		return 0, fmt.Errorf("too large")
	}
	return f.Num().Int64(), nil
}

// ulimitNames are the rlimits Docker knows by name.
var ulimitNames = map[string]bool{
	"core": true, "cpu": true, "data": true, "fsize": true, "locks": true,
	"memlock": true, "msgqueue": true, "nice": true, "nofile": true,
	"nproc": true, "rss": true, "rtprio": true, "rttime": true,
	"sigpending": true, "stack": true,
}

// parseUlimit reads "name=soft[:hard]"; -1 or "unlimited" is no limit.
// The name is kept as Docker spells it ("nofile").
func parseUlimit(s string) (container.Ulimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok || !ulimitNames[name] {
		return container.Ulimit{}, flagError("ulimit", s, "want name=soft[:hard] with a name Docker knows (nofile, nproc, core, ...)")
	}
	softS, hardS, hasHard := strings.Cut(limits, ":")
	soft, err1 := parseLimit(softS)
	hard, err2 := soft, error(nil)
	if hasHard {
		hard, err2 = parseLimit(hardS)
	}
	if err1 != nil || err2 != nil {
		return container.Ulimit{}, flagError("ulimit", s, "limits are numbers, -1 or unlimited")
	}
	if soft > hard {
		return container.Ulimit{}, flagError("ulimit", s, "soft limit above the hard limit")
	}
	return container.Ulimit{Name: name, Soft: soft, Hard: hard}, nil
}

// parseLimit reads one rlimit value; no limit is RLIM_INFINITY.
func parseLimit(s string) (uint64, error) {
	if s == "-1" || s == "unlimited" {
		return math.MaxUint64, nil
	}
	return strconv.ParseUint(s, 10, 64)
}
