package cgroups

import (
	"strconv"
	"strings"
)

// statReader reads optional counter files: a missing file (controller not
// mounted or kernel without that counter) reads as zero, while the first
// other error is kept and reported by Stats.
type statReader struct{ err error }

func (r *statReader) keep(err error) bool {
	if err == nil {
		return true
	}
	if !isNotExist(err) && r.err == nil {
		r.err = err
	}
	return false
}

// uint reads a one-number file; "max" reads as max, and -1 (a v1
// unlimited) as 0.
func (r *statReader) uint(dir, name string, max uint64) uint64 {
	if dir == "" {
		return 0
	}
	s, err := readFile(dir, name)
	if !r.keep(err) {
		return 0
	}
	if s == "max" {
		return max
	}
	v, err := parseUint(s, dir+"/"+name)
	r.keep(err)
	return v
}

// kv reads a "key value" file.
func (r *statReader) kv(dir, name string) map[string]uint64 {
	if dir == "" {
		return nil
	}
	m, err := readKeyValues(dir, name)
	if !r.keep(err) {
		return nil
	}
	return m
}

// list reads a file of space-separated numbers (cpuacct.usage_percpu).
func (r *statReader) list(dir, name string) []uint64 {
	if dir == "" {
		return nil
	}
	s, err := readFile(dir, name)
	if !r.keep(err) {
		return nil
	}
	var out []uint64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 10, 64)
		if !r.keep(err) {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// cpuList reads a cpuset list file into its members.
func (r *statReader) cpuList(dir, name string) []uint16 {
	if dir == "" {
		return nil
	}
	s, err := readFile(dir, name)
	if !r.keep(err) {
		return nil
	}
	set, err := parseList(s)
	if !r.keep(err) {
		return nil
	}
	out := make([]uint16, 0, len(set))
	for i := 0; len(out) < len(set); i++ {
		if set[i] {
			out = append(out, uint16(i))
		}
	}
	return out
}

// blkio reads a v1 blkio file of "maj:min Op value" lines ("Total" lines
// and "maj:min value" lines without an operation are handled too).
func (r *statReader) blkio(dir, name string) []BlkioEntry {
	if dir == "" {
		return nil
	}
	s, err := readFile(dir, name)
	if !r.keep(err) {
		return nil
	}
	var out []BlkioEntry
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := parseDev(f[0])
		if !ok {
			continue
		}
		e := BlkioEntry{Major: maj, Minor: min}
		val := f[1]
		if len(f) == 3 {
			e.Op, val = f[1], f[2]
		}
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			continue
		}
		e.Value = v
		out = append(out, e)
	}
	return out
}

// parseDev parses "major:minor".
func parseDev(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, err1 == nil && err2 == nil
}
