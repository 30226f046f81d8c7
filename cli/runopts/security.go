package runopts

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/container"
)

// security converts --cap-add, --cap-drop, --device and --security-opt.
func (o *Options) security(c *container.Config) error {
	var err error
	if c.CapAdd, err = capList("cap-add", o.capAdd); err != nil {
		return err
	}
	if c.CapDrop, err = capList("cap-drop", o.capDrop); err != nil {
		return err
	}
	for _, d := range o.devices {
		dev, err := parseDevice(d)
		if err != nil {
			return err
		}
		c.Devices = append(c.Devices, dev)
	}
	for _, s := range o.secOpts {
		if err := securityOpt(c, s); err != nil {
			return err
		}
	}
	return nil
}

// capList checks capability names, Docker's way: ALL, or a name with or
// without CAP_ in any case. Names come back as "CAP_X" (or "ALL").
func capList(flag string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if strings.EqualFold(n, "ALL") {
			out = append(out, "ALL")
			continue
		}
		c, err := capabilities.Parse(n)
		if err != nil {
			return nil, flagError(flag, n, "unknown capability")
		}
		out = append(out, c.String())
	}
	return out, nil
}

// parseDevice reads "host[:container][:perms]", perms a subset of rwm.
func parseDevice(s string) (container.Device, error) {
	parts := strings.Split(s, ":")
	d := container.Device{PathOnHost: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if validPerms(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.Permissions = parts[1], parts[2]
		if !validPerms(d.Permissions) {
			return d, flagError("device", s, "permissions %q are not a subset of rwm", d.Permissions)
		}
	default:
		return d, flagError("device", s, "want host-path[:container-path][:rwm]")
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	for _, p := range []string{d.PathOnHost, d.PathInContainer} {
		if !path.IsAbs(p) || strings.IndexByte(p, 0) >= 0 {
			return d, flagError("device", s, "%q is not an absolute path", p)
		}
	}
	d.PathOnHost, d.PathInContainer = path.Clean(d.PathOnHost), path.Clean(d.PathInContainer)
	return d, nil
}

// validPerms reports whether p is a non-empty subset of "rwm", each
// letter at most once.
func validPerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for i, r := range p {
		if !strings.ContainsRune("rwm", r) || strings.ContainsRune(p[i+1:], r) {
			return false
		}
	}
	return true
}

// securityOpt applies one --security-opt. Docker's older "key:value"
// spelling is accepted too.
func securityOpt(c *container.Config, s string) error {
	k, v, hasValue := strings.Cut(s, "=")
	if !hasValue {
		k, v, hasValue = strings.Cut(s, ":")
	}
	switch k {
	case "seccomp":
		switch v {
		case "unconfined":
			c.Seccomp = v
		case "":
			return flagError("security-opt", s, "seccomp needs a profile file or unconfined")
		default:
			abs, err := filepath.Abs(v)
			if err == nil {
				_, err = os.Stat(abs)
			}
			if err != nil {
				return flagError("security-opt", s, "seccomp profile: %v", unwrapPath(err))
			}
			c.Seccomp = abs
		}
	case "no-new-privileges":
		b, err := optBool(v, hasValue)
		if err != nil {
			return flagError("security-opt", s, "no-new-privileges takes true or false")
		}
		c.NoNewPrivileges = b
	case "apparmor", "label", "systempaths", "writable-cgroups", "mask", "unmask":
		return errNotSupported("security-opt", s, k)
	default:
		return flagError("security-opt", s, "want seccomp=FILE|unconfined or no-new-privileges[=true|false]")
	}
	return nil
}

// parseSignal checks a signal name (TERM, SIGTERM, sigterm,
// SIGRTMIN+3) or number and returns it as "SIGTERM" or, for a number
// without a name, as the number.
func parseSignal(s string) (string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return "", fmt.Errorf("signal numbers are 1 to 64")
		}
		if name := unix.SignalName(unix.Signal(n)); name != "" {
			return name, nil
		}
		return strconv.Itoa(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) != 0 {
		return name, nil
	}
	if base, off, ok := strings.Cut(name, "+"); ok && base == "SIGRTMIN" {
		if n, err := strconv.Atoi(off); err == nil && n >= 0 && n <= 30 {
			return strconv.Itoa(34 + n), nil
		}
	}
	if base, off, ok := strings.Cut(name, "-"); ok && base == "SIGRTMAX" {
		if n, err := strconv.Atoi(off); err == nil && n >= 0 && n <= 30 {
			return strconv.Itoa(64 - n), nil
		}
	}
	return "", fmt.Errorf("unknown signal")
}

// parseRestart reads no|on-failure[:N]|always|unless-stopped.
func parseRestart(s string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	rp := container.RestartPolicy{Name: name}
	switch name {
	case "no", "always", "unless-stopped":
		if hasCount {
			return rp, flagError("restart", s, "a retry count only goes with on-failure")
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return rp, flagError("restart", s, "the retry count must be a number of at least 0")
			}
			rp.MaxRetries = n
		}
	default:
		return rp, flagError("restart", s, "want no, on-failure[:N], always or unless-stopped")
	}
	return rp, nil
}

// parseLogOpts reads --log-opt max-size=10m and max-file=3 (also
// together, comma-separated).
func parseLogOpts(opts []string) (container.LogConfig, error) {
	var lc container.LogConfig
	for _, o := range opts {
		for _, kv := range strings.Split(o, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "max-size":
				n, err := parseBytes(v)
				if err != nil || n <= 0 {
					return lc, flagError("log-opt", kv, "max-size must be a positive size (10m)")
				}
				lc.MaxSize = n
			case "max-file":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return lc, flagError("log-opt", kv, "max-file must be a number of at least 1")
				}
				lc.MaxFiles = n
			default:
				return lc, flagError("log-opt", kv, "unknown option (want max-size or max-file)")
			}
		}
	}
	return lc, nil
}
