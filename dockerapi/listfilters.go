package dockerapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
)

// containerMatcher serves the container list filters that need more than
// the record: ancestor (an image by name, name:tag or ID prefix), exited
// (an exit code of an exited container), before and since (created
// before or after the named container), network (by name or ID) and
// volume (a volume's name or a mount's destination). A before or since
// container that does not exist is a 404, as in Docker.
func (s *Server) containerMatcher(r *http.Request, f filters) (func(engine.Container) bool, error) {
	var before, since time.Time
	for _, b := range []struct {
		key string
		t   *time.Time
	}{{"before", &before}, {"since", &since}} {
		for _, ref := range f[b.key] {
			c, err := s.e.Container(r.Context(), Namespace, ref)
			if err != nil {
				return nil, err
			}
			*b.t = c.CreatedAt
		}
	}
	codes := map[int]bool{}
	for _, v := range f["exited"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, invalid("invalid filter 'exited=%s'", v)
		}
		codes[n] = true
	}
	return func(c engine.Container) bool {
		cfg, _ := engine.ContainerConfig(c)
		return (before.IsZero() || c.CreatedAt.Before(before)) && (since.IsZero() || c.CreatedAt.After(since)) &&
			(len(codes) == 0 || c.Status.State == engine.StateExited && codes[c.Status.ExitCode]) &&
			f.any("ancestor", func(v string) bool { return isAncestor(c, v) }) &&
			f.any("network", func(v string) bool { return onNetwork(cfg, v) }) &&
			f.any("volume", func(v string) bool { return hasVolume(cfg, v) })
	}, nil
}

// isAncestor says whether c runs image v: its name as given, with
// ":latest" added to a name without tag, or a prefix of its ID.
func isAncestor(c engine.Container, v string) bool {
	id := strings.TrimPrefix(c.ImageID, "sha256:")
	if p := strings.TrimPrefix(v, "sha256:"); len(p) >= 4 && strings.HasPrefix(id, p) {
		return true
	}
	if c.Image == v {
		return true
	}
	last := v[strings.LastIndex(v, "/")+1:]
	return !strings.ContainsAny(last, ":@") && c.Image == v+":latest"
}

// onNetwork says whether cfg joins network v (a name or an ID prefix).
func onNetwork(cfg container.Config, v string) bool {
	primary := cfg.NetworkMode
	if primary == "" {
		primary = engine.DefaultNetwork
	}
	names := []string{primary}
	for _, ep := range cfg.Connected {
		names = append(names, ep.Network)
	}
	return slices.ContainsFunc(names, func(n string) bool {
		return n != "" && (n == v || len(v) >= 4 && strings.HasPrefix(engine.NetworkID(n), v))
	})
}

// hasVolume says whether cfg mounts volume v or has a mount at v.
func hasVolume(cfg container.Config, v string) bool {
	return slices.ContainsFunc(cfg.Mounts, func(m container.Mount) bool {
		return m.Type == "volume" && m.Source == v || m.Target == v
	})
}
