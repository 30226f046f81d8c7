package runopts

import (
	"encoding/csv"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/container"
)

// storage converts -v, --mount and --tmpfs, refusing two mounts on
// one target.
func (o *Options) storage(c *container.Config) error {
	for _, v := range o.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return err
		}
		c.Mounts = append(c.Mounts, m)
	}
	for _, v := range o.mounts {
		m, err := parseMount(v)
		if err != nil {
			return err
		}
		c.Mounts = append(c.Mounts, m)
	}
	for _, v := range o.tmpfs {
		m, err := parseTmpfs(v)
		if err != nil {
			return err
		}
		c.Mounts = append(c.Mounts, m)
	}
	seen := make(map[string]bool, len(c.Mounts))
	for _, m := range c.Mounts {
		if seen[m.Target] {
			return flagError("volume", m.Target, "duplicate mount point")
		}
		seen[m.Target] = true
	}
	return nil
}

// target checks and cleans a mount's container path.
func target(flag, spec, p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", flagError(flag, spec, "the container path must be absolute")
	}
	if p = path.Clean(p); p == "/" {
		return "", flagError(flag, spec, "cannot mount over /")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", flagError(flag, spec, "NUL in path")
	}
	return p, nil
}

// source sorts a -v or --mount source into a bind (absolute, or
// relative starting with ".", made absolute as Docker's CLI does) or a
// named volume.
func source(flag, spec, src string) (typ, cleaned string, err error) {
	switch {
	case strings.IndexByte(src, 0) >= 0:
		return "", "", flagError(flag, spec, "NUL in path")
	case strings.HasPrefix(src, "/"):
		return "bind", filepath.Clean(src), nil
	case strings.HasPrefix(src, "."):
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", "", flagError(flag, spec, "%v", err)
		}
		return "bind", abs, nil
	case !validName(src):
		return "", "", flagError(flag, spec, "%q is neither an absolute path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)", src)
	}
	return "volume", src, nil
}

// parseVolume parses -v: "/ctr" (an anonymous volume),
// "src:/ctr" or "src:/ctr:opts", opts a comma list of ro|rw, z|Z,
// a bind propagation and nocopy.
func parseVolume(spec string) (container.Mount, error) {
	parts := strings.Split(spec, ":")
	var m container.Mount
	var err error
	switch len(parts) {
	case 1:
		m.Type = "volume"
		m.Target, err = target("volume", spec, parts[0])
		return m, err
	case 2, 3:
		if m.Type, m.Source, err = source("volume", spec, parts[0]); err != nil {
			return m, err
		}
		if m.Target, err = target("volume", spec, parts[1]); err != nil {
			return m, err
		}
	default:
		return m, flagError("volume", spec, "want [source:]target[:options]")
	}
	if len(parts) == 3 {
		err = volumeOptions(spec, parts[2], &m)
	}
	return m, err
}

var propagations = map[string]bool{
	"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true,
}

// volumeOptions applies -v's option list to m.
func volumeOptions(spec, opts string, m *container.Mount) error {
	rw := 0
	for _, opt := range strings.Split(opts, ",") {
		switch {
		case opt == "ro" || opt == "rw":
			rw++
			m.ReadOnly = opt == "ro"
		case opt == "z" || opt == "Z":
			m.Options = append(m.Options, opt)
		case propagations[opt] && m.Type == "bind":
			m.Options = append(m.Options, opt)
		case opt == "nocopy" && m.Type == "volume":
			m.Options = append(m.Options, opt)
		case opt == "consistent" || opt == "cached" || opt == "delegated":
			// macOS-only hints Docker accepts and ignores on Linux.
		default:
			return flagError("volume", spec, "unknown option %q for a %s mount", opt, m.Type)
		}
	}
	if rw > 1 {
		return flagError("volume", spec, "ro and rw given more than once")
	}
	return nil
}

// parseMount parses --mount's comma-separated (CSV-quoted) key=value form.
func parseMount(spec string) (container.Mount, error) {
	fields, err := csv.NewReader(strings.NewReader(spec)).Read()
	if err != nil {
		return container.Mount{}, flagError("mount", spec, "not a CSV list: %v", err)
	}
	m := container.Mount{Type: "volume"}
	var src, dst string
	var size, mode string
	for _, f := range fields {
		k, v, hasValue := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "type":
			m.Type = v
		case "source", "src":
			src = v
		case "target", "destination", "dst":
			dst = v
		case "readonly", "ro":
			if m.ReadOnly, err = optBool(v, hasValue); err != nil {
				return m, flagError("mount", spec, "%s=%s: not a boolean", k, v)
			}
		case "bind-propagation":
			if !propagations[v] {
				return m, flagError("mount", spec, "unknown bind-propagation %q", v)
			}
			m.Options = append(m.Options, v)
		case "volume-nocopy":
			nocopy, err := optBool(v, hasValue)
			if err != nil {
				return m, flagError("mount", spec, "volume-nocopy=%s: not a boolean", v)
			}
			if nocopy {
				m.Options = append(m.Options, "nocopy")
			}
		case "tmpfs-size":
			size = v
		case "tmpfs-mode":
			mode = v
		case "consistency":
		default:
			return m, flagError("mount", spec, "unknown key %q", k)
		}
	}
	return finishMount(spec, m, src, dst, size, mode)
}

// finishMount checks a --mount's fields against its type.
func finishMount(spec string, m container.Mount, src, dst, size, mode string) (container.Mount, error) {
	var err error
	if m.Target, err = target("mount", spec, dst); err != nil {
		return m, err
	}
	if m.Type != "tmpfs" && (size != "" || mode != "") {
		return m, flagError("mount", spec, "tmpfs-size and tmpfs-mode need type=tmpfs")
	}
	switch m.Type {
	case "bind", "volume":
		if src == "" {
			if m.Type == "bind" {
				return m, flagError("mount", spec, "a bind mount needs a source")
			}
			return m, nil // anonymous volume
		}
		typ, s, err := source("mount", spec, src)
		if err != nil {
			return m, err
		}
		if typ != m.Type {
			return m, flagError("mount", spec, "source %q does not suit type=%s", src, m.Type)
		}
		m.Source = s
	case "tmpfs":
		if src != "" {
			return m, flagError("mount", spec, "a tmpfs has no source")
		}
		if size != "" {
			n, err := parseBytes(size)
			if err != nil || n <= 0 {
				return m, flagError("mount", spec, "tmpfs-size %q is not a size", size)
			}
			m.Options = append(m.Options, "size="+strconv.FormatInt(n, 10))
		}
		if mode != "" {
			n, err := strconv.ParseUint(mode, 8, 32)
			if err != nil || n > 0o7777 {
				return m, flagError("mount", spec, "tmpfs-mode %q is not an octal mode", mode)
			}
			m.Options = append(m.Options, "mode="+strconv.FormatUint(n, 8))
		}
	default:
		return m, flagError("mount", spec, "type %q: want bind, volume or tmpfs", m.Type)
	}
	return m, nil
}

// optBool reads an optional boolean: a bare key is true.
func optBool(v string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	return strconv.ParseBool(v)
}

var tmpfsSizeRE = lazyRE(`^[0-9]+[kKmMgG%]?$`)

// tmpfsFlags are the options --tmpfs passes to the kernel as flags.
var tmpfsFlags = map[string]bool{
	"rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true,
	"dev": true, "nodev": true, "sync": true, "async": true, "atime": true,
	"noatime": true, "relatime": true, "norelatime": true, "strictatime": true,
	"diratime": true, "nodiratime": true,
}

// parseTmpfs parses --tmpfs "/path[:opt,opt...]".
func parseTmpfs(spec string) (container.Mount, error) {
	dst, opts, _ := strings.Cut(spec, ":")
	m := container.Mount{Type: "tmpfs"}
	var err error
	if m.Target, err = target("tmpfs", spec, dst); err != nil {
		return m, err
	}
	if opts == "" {
		return m, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch {
		case opt == "ro":
			m.ReadOnly = true
		case tmpfsFlags[opt]:
			m.Options = append(m.Options, opt)
		case k == "size" && tmpfsSizeRE().MatchString(v),
			k == "nr_inodes" && tmpfsSizeRE().MatchString(v),
			k == "nr_blocks" && tmpfsSizeRE().MatchString(v),
			k == "mode" && validOctal(v),
			(k == "uid" || k == "gid") && validUint(v):
			m.Options = append(m.Options, opt)
		default:
			return m, flagError("tmpfs", spec, "unknown or bad option %q", opt)
		}
	}
	return m, nil
}

func validOctal(s string) bool {
	n, err := strconv.ParseUint(s, 8, 32)
	return err == nil && n <= 0o7777
}

func validUint(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}
