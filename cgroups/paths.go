package cgroups

import (
	"path/filepath"
	"strings"
)

// cleanPath makes a cgroupsPath safe to join below a mount point: it is
// lexically cleaned and a relative path cannot climb above its base with
// "..". An empty result means "no path given".
func cleanPath(p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	// Resolve against "/" so that leading ".." components are dropped, then
	// make the result relative again.
	rel, err := filepath.Rel("/", filepath.Clean("/"+p))
	if err != nil || rel == "." {
		return ""
	}
	return rel
}

// isSystemdPath reports whether p has the "slice:prefix:name" form used by
// the systemd cgroup driver.
func isSystemdPath(p string) bool {
	return !strings.HasPrefix(p, "/") && strings.Count(p, ":") == 2
}

// innerPath returns the cleaned container cgroup path: cgroupsPath when set,
// else the container ID (relative, like runc's default).
func innerPath(cgroupsPath, id string) (string, error) {
	if isSystemdPath(cgroupsPath) {
		return "", ErrSystemdUnavailable
	}
	p := cleanPath(cgroupsPath)
	if p == "" {
		p = cleanPath(id)
	}
	if p == "" || p == "/" {
		return "", invalidf("cgroup path %q (container id %q) resolves to the hierarchy root", cgroupsPath, id)
	}
	return p, nil
}

// parseProcCgroup maps a hierarchy key to the process's cgroup in it,
// parsed from /proc/<pid>/cgroup content. v1 hierarchies are keyed by each of
// their controllers ("cpu", "memory", "name=systemd"); the v2 hierarchy by
// "".
func parseProcCgroup(data string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(data, "\n") {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			m[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			m[c] = parts[2]
		}
	}
	return m
}

// mount is one cgroup v1 hierarchy mount.
type mount struct {
	point       string   // mount point, e.g. /sys/fs/cgroup/cpu
	root        string   // root of the hierarchy that is mounted there
	controllers []string // e.g. [cpu cpuacct] or [name=systemd]
}

// parseMountinfo returns the cgroup v1 mounts found in mountinfo content
// whose mount point lies directly below cgroupRoot. When several mounts
// share a mount point the last one wins, as it hides the others.
func parseMountinfo(data, cgroupRoot string) []mount {
	var out []mount
	seen := map[string]int{}
	for len(data) > 0 {
		var line string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, ""
		}
		// Cheap filter before splitting: only cgroup v1 lines.
		sep := strings.Index(line, " - cgroup ")
		if sep < 0 {
			continue
		}
		pre := strings.Fields(line[:sep])
		post := strings.Fields(line[sep+3:])
		if len(pre) < 5 || len(post) < 3 {
			continue
		}
		point := unescapeMount(pre[4])
		if filepath.Dir(point) != cgroupRoot {
			continue
		}
		var ctrls []string
		for _, o := range strings.Split(post[2], ",") {
			switch {
			case strings.HasPrefix(o, "name="):
				ctrls = append(ctrls, o)
			case o == "rw" || o == "ro" || strings.Contains(o, "=") ||
				o == "noprefix" || o == "clone_children" || o == "xattr" ||
				o == "cpuset_v2_mode" || o == "favordynmods" || o == "nsdelegate":
			default:
				ctrls = append(ctrls, o)
			}
		}
		if len(ctrls) == 0 {
			continue
		}
		m := mount{point: point, root: unescapeMount(pre[3]), controllers: ctrls}
		if i, ok := seen[point]; ok {
			out[i] = m
			continue
		}
		seen[point] = len(out)
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 etc.) of mountinfo fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// v1Dir returns the container's directory in one v1 hierarchy. inner is
// the cleaned container path, own the calling process's cgroup in that
// hierarchy (only used when inner is relative).
func v1Dir(m mount, inner, own string) string {
	if filepath.IsAbs(inner) {
		return filepath.Join(m.point, inner)
	}
	return filepath.Join(m.point, relToMountRoot(own, m.root), inner)
}

// v2Dir returns the container's directory in a cgroup2 hierarchy mounted at
// point. For a relative inner path the base is own's parent when
// parentOfOwn is set (pure v2) and own itself otherwise (hybrid).
func v2Dir(point, inner, own string, parentOfOwn bool) string {
	if filepath.IsAbs(inner) {
		return filepath.Join(point, inner)
	}
	base := own
	if parentOfOwn {
		base = filepath.Dir(own)
	}
	return filepath.Join(point, base, inner)
}

// relToMountRoot makes a /proc/self/cgroup path relative to the root of
// the mounted hierarchy (they differ when a sub-tree is bind-mounted).
func relToMountRoot(own, root string) string {
	if root == "/" || root == "" {
		return own
	}
	if own == root {
		return "/"
	}
	if strings.HasPrefix(own, root+"/") {
		return own[len(root):]
	}
	return own
}
