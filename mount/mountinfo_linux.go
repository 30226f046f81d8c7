package mount

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Info is what /proc/self/mountinfo says of the mount that holds a path.
type Info struct {
	// Mountpoint is where the mount is, as this process sees it.
	Mountpoint string
	// Shared and Slave give its propagation: a peer group of its own
	// ("shared:N"), a master it receives from ("master:N"), both, or
	// neither (private).
	Shared, Slave bool
}

// Lookup returns the mount that holds path (symlinks resolved): the last
// mounted of those whose mount point is the longest prefix of it.
func Lookup(path string) (Info, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return Info{}, fmt.Errorf("mount of %s: %w", path, err)
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Info{}, fmt.Errorf("mount of %s: %w", path, err)
	}
	return lookupIn(string(data), real)
}

// lookupIn finds the mount holding the absolute, resolved path real in
// mountinfo's text.
func lookupIn(mountinfo, real string) (Info, error) {
	var best Info
	found := false
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, _, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if !ok || len(f) < 6 {
			continue
		}
		mp := Unescape(f[4])
		if !within(real, mp) || (found && len(mp) < len(best.Mountpoint)) {
			continue
		}
		best, found = Info{Mountpoint: mp}, true
		for _, opt := range f[6:] {
			best.Shared = best.Shared || strings.HasPrefix(opt, "shared:")
			best.Slave = best.Slave || strings.HasPrefix(opt, "master:")
		}
	}
	if !found {
		return Info{}, fmt.Errorf("%w: no mount holds %s", ErrInvalid, real)
	}
	return best, nil
}

// within reports whether p is mount point mp or lies below it.
func within(p, mp string) bool {
	return mp == "/" || p == mp || strings.HasPrefix(p, mp+"/")
}
