package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine"
	dcontainer "github.com/moby/moby/api/types/container"
)

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := f.check("status", "name", "id", "label", "ancestor", "exited", "before", "since", "network", "volume"); err != nil {
		writeError(w, err)
		return
	}
	// limit is the newest containers of any state (docker ps -n, docker-py's
	// list(limit=)); 0 or less is no limit.
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			writeError(w, invalid("invalid limit %q", v))
			return
		}
	}
	all := boolParam(q.Get("all")) || len(f["status"]) > 0 || len(f["exited"]) > 0 || limit > 0
	list, err := s.e.Containers(r.Context(), Namespace, all)
	if err != nil {
		writeError(w, err)
		return
	}
	m, err := s.containerMatcher(r, f)
	if err != nil {
		writeError(w, err)
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	out := []dcontainer.Summary{}
	for _, c := range list {
		if limit > 0 && len(out) == limit {
			break
		}
		if f.matchContainer(c) && m(c) {
			out = append(out, summaryOf(c))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// filters are Docker's ?filters=: a key's accepted values.
type filters map[string][]string

// parseFilters reads both forms Docker clients send:
// {"key":{"value":true}} and the older {"key":["value"]}.
func parseFilters(raw string) (filters, error) {
	f := filters{}
	if raw == "" {
		return f, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, invalid("invalid filter: %v", err)
	}
	for k, v := range m {
		var set map[string]bool
		if err := json.Unmarshal(v, &set); err == nil {
			for val, on := range set {
				if on {
					f[k] = append(f[k], val)
				}
			}
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, invalid("invalid filter %q", k)
		}
		f[k] = append(f[k], list...)
	}
	return f, nil
}

// check refuses a key outside known, as Docker does.
func (f filters) check(known ...string) error {
	for k := range f {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return invalid("invalid filter '%s'", k)
		}
	}
	return nil
}

// any is true when key has no values or fn holds for one of them.
func (f filters) any(key string, fn func(string) bool) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if fn(v) {
			return true
		}
	}
	return false
}

func (f filters) matchContainer(c engine.Container) bool {
	return f.any("status", func(v string) bool { return v == c.Status.State }) &&
		f.any("id", func(v string) bool { return strings.HasPrefix(c.ID, v) }) &&
		f.any("name", func(v string) bool { return strings.Contains(c.Name, strings.TrimPrefix(v, "/")) }) &&
		f.matchLabels(c.Labels)
}

// all is true when fn holds for each of key's values (labels must all
// match).
func (f filters) all(key string, fn func(string) bool) bool {
	for _, v := range f[key] {
		if !fn(v) {
			return false
		}
	}
	return true
}

func summaryOf(c engine.Container) dcontainer.Summary {
	cfg, _ := engine.ContainerConfig(c)
	out := dcontainer.Summary{
		ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Image, ImageID: c.ImageID,
		Command: strings.Join(c.Command, " "), Created: c.CreatedAt.Unix(), Labels: c.Labels,
		State: dcontainer.ContainerState(c.Status.State), Status: statusText(c, time.Now()),
		Ports: []dcontainer.PortSummary{}, Mounts: mountPoints(cfg),
		NetworkSettings: &dcontainer.NetworkSettingsSummary{Networks: networkSettingsOf(c, cfg).Networks},
	}
	out.HostConfig.NetworkMode = cfg.NetworkMode
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n := c.Status.Network; n != nil {
		for _, p := range n.Ports {
			ip, _ := netip.ParseAddr(p.HostIP)
			if !ip.IsValid() {
				ip = netip.IPv4Unspecified()
			}
			out.Ports = append(out.Ports, dcontainer.PortSummary{IP: ip, PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Protocol})
		}
	}
	return out
}

// statusText is ps's STATUS column as Docker words it.
func statusText(c engine.Container, now time.Time) string {
	st := c.Status
	switch st.State {
	case engine.StateRunning:
		return "Up " + humanDuration(now.Sub(st.StartedAt))
	case engine.StatePaused:
		return "Up " + humanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case engine.StateExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	}
	return "Created"
}

// humanDuration words d as Docker's go-units does, roughly.
func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// matchLabels checks labels against the label (key or key=value) and
// label! filters; each endpoint's check says which of them it takes.
func (f filters) matchLabels(labels map[string]string) bool {
	has := func(v string) bool {
		k, val, hasVal := strings.Cut(v, "=")
		got, ok := labels[k]
		return ok && (!hasVal || got == val)
	}
	return f.all("label", has) && f.all("label!", func(v string) bool { return !has(v) })
}
