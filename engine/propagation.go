package engine

import (
	"fmt"
	"slices"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/mount"
)

// rootfsPropagation is the linux.rootfsPropagation that binds with
// propagation need, checking that each one's source can propagate: an
// rshared bind needs its source on a shared mount and makes the root
// rshared (so that the container's copy of the source stays a peer of
// the host's); an rslave one needs a shared or slave source and makes
// it rslave. Without either it is "" (the runtime's default).
func rootfsPropagation(ms []container.Mount) (string, error) {
	prop := ""
	for _, m := range ms {
		shared, slave := slices.Contains(m.Options, "rshared") || slices.Contains(m.Options, "shared"),
			slices.Contains(m.Options, "rslave") || slices.Contains(m.Options, "slave")
		if m.Type != "bind" || (!shared && !slave) {
			continue
		}
		info, err := mount.Lookup(m.Source)
		if err != nil {
			return "", fmt.Errorf("%w: bind source %s: %w", ErrInvalidConfig, m.Source, err)
		}
		switch {
		case shared && !info.Shared:
			return "", fmt.Errorf("%w: bind source %s is on mount %s, which is not a shared mount (rshared needs one: mount --make-rshared %s)", ErrInvalidConfig, m.Source, info.Mountpoint, info.Mountpoint)
		case slave && !info.Shared && !info.Slave:
			return "", fmt.Errorf("%w: bind source %s is on mount %s, which is neither a shared nor a slave mount (rslave needs one: mount --make-rshared %s)", ErrInvalidConfig, m.Source, info.Mountpoint, info.Mountpoint)
		case shared:
			prop = "rshared"
		case prop == "":
			prop = "rslave"
		}
	}
	return prop, nil
}
