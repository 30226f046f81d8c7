package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// manager implements Manager for every mode: in Legacy and Hybrid mode
// paths holds one entry per v1 controller (co-mounted controllers share a
// directory) plus, in Hybrid mode, the cgroup2 directory under "".
type manager struct {
	mode    Mode
	paths   map[string]string
	created map[string]string // container dir -> topmost dir Apply created
	res     *specs.LinuxResources
	// rootless: Apply ran unprivileged and dropped hierarchies.
	rootless bool
}

// New resolves the container's cgroup directories for cfg without creating
// anything. It reads /proc/self/cgroup only for relative paths and
// /proc/self/mountinfo only on hosts with v1 hierarchies.
func New(cfg Config) (Manager, error) {
	if cfg.Systemd {
		return nil, fmt.Errorf("cgroup path %q: %w", cfg.Path, ErrSystemdUnavailable)
	}
	inner, err := innerPath(cfg.Path, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("cgroup path %q: %w", cfg.Path, err)
	}
	root := DefaultRoot
	mode := Mode(0)
	if cfg.Root != "" && filepath.Clean(cfg.Root) != DefaultRoot {
		root = filepath.Clean(cfg.Root)
		mode = detectMode(root)
	} else {
		mode = DetectMode()
	}
	if err := validate(cfg.Resources, mode); err != nil {
		return nil, err
	}
	var own map[string]string
	if !filepath.IsAbs(inner) {
		data, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return nil, fmt.Errorf("find own cgroup: %w", err)
		}
		own = parseProcCgroup(string(data))
	}
	m := &manager{mode: mode, paths: map[string]string{}, res: cfg.Resources}
	if mode == Unified {
		m.paths[""] = v2Dir(root, inner, ownOr(own, ""), true)
		return m, nil
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("find cgroup mounts: %w", err)
	}
	mounts := parseMountinfo(string(data), root)
	if len(mounts) == 0 {
		return nil, unsupportedf("no cgroup v1 hierarchy is mounted under %s", root)
	}
	for _, mt := range mounts {
		dir := v1Dir(mt, inner, ownOr(own, mt.controllers[0]))
		for _, c := range mt.controllers {
			m.paths[c] = dir
		}
	}
	if mode == Hybrid {
		m.paths[""] = v2Dir(filepath.Join(root, "unified"), inner, ownOr(own, ""), false)
	}
	return m, nil
}

// ownOr returns the caller's cgroup in a hierarchy, "/" when unknown.
func ownOr(own map[string]string, key string) string {
	if p, ok := own[key]; ok && p != "" {
		return p
	}
	return "/"
}

// Load rebuilds a Manager from a State saved by an earlier process. It
// touches nothing on disk.
func Load(s State) (Manager, error) {
	switch s.Mode {
	case Legacy, Hybrid, Unified:
	default:
		return nil, invalidf("cgroup state has unknown mode %d", int(s.Mode))
	}
	if len(s.Paths) == 0 && !s.Rootless {
		return nil, invalidf("cgroup state has no paths")
	}
	m := &manager{mode: s.Mode, paths: map[string]string{}, rootless: s.Rootless}
	for k, p := range s.Paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return nil, invalidf("cgroup state path %q for %q is not a clean absolute path", p, k)
		}
		m.paths[k] = p
	}
	if s.Mode == Unified && m.paths[""] == "" && !s.Rootless {
		return nil, invalidf("cgroup state for a unified host lacks the cgroup2 path")
	}
	if s.Created != nil {
		m.created = map[string]string{}
		for d, top := range s.Created {
			m.created[d] = top
		}
	}
	return m, nil
}

// State returns a copy of the manager's state.
func (m *manager) State() State {
	s := State{Mode: m.mode, Paths: make(map[string]string, len(m.paths)), Rootless: m.rootless}
	for k, v := range m.paths {
		s.Paths[k] = v
	}
	if m.created != nil {
		s.Created = make(map[string]string, len(m.created))
		for k, v := range m.created {
			s.Created[k] = v
		}
	}
	return s
}

// Path returns the directory of a controller, "" for none.
func (m *manager) Path(controller string) string {
	if m.mode == Unified {
		return m.paths[""]
	}
	return m.paths[controller]
}

// dirs returns the distinct container directories, cgroup2 last, each with
// whether it is a v1 cpuset directory.
func (m *manager) dirs() []string {
	seen := map[string]bool{}
	var out []string
	for k, d := range m.paths {
		if k != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	if d := m.paths[""]; d != "" && !seen[d] {
		out = append(out, d)
	}
	return out
}

// Apply creates the directories, applies the configured resources and
// moves pid in. An unprivileged caller (rootless) that may not create a
// directory goes without that hierarchy, and without device rules, when
// the resources need nothing else; the hierarchy is then left out of
// State.
func (m *manager) Apply(pid int) (err error) {
	if pid < -1 || pid == 0 {
		return invalidf("pid %d", pid)
	}
	if m.created == nil {
		m.created = map[string]string{}
	}
	defer func() {
		if err != nil {
			m.removeCreated()
		}
	}()
	cpusetDir := ""
	if m.mode != Unified {
		cpusetDir = m.paths["cpuset"]
	}
	for _, d := range m.dirs() {
		var init func(string) error
		switch d {
		case m.paths[""]:
			init = enableInParent
		case cpusetDir:
			init = initCpuset
		}
		top, err := mkdirCgroup(d, init)
		if err != nil {
			if unprivileged() && isPermission(err) && !needsLimits(m.res) {
				// Rootless without delegation: run without this
				// hierarchy, as runc does, unless limits need it.
				m.drop(d)
				continue
			}
			if unprivileged() && isPermission(err) {
				return unsupportedf("rootless: the container's resource limits need cgroup %s, which this user may not create (delegate a writable cgroup or drop the limits): %v", d, err)
			}
			return err
		}
		if top != "" {
			m.created[d] = top
		} else if d == cpusetDir {
			// It existed: it (or a parent) may still be empty.
			if err := initCpuset(d); err != nil {
				return err
			}
		}
	}
	if m.res != nil {
		res := m.res
		if m.mode != Unified && m.paths["devices"] == "" && len(res.Devices) > 0 && unprivileged() {
			cp := *res
			cp.Devices = nil
			res = &cp
		}
		if m.mode == Unified && m.paths[""] == "" {
			res = nil
		}
		if err := m.write(res); err != nil {
			return err
		}
	}
	if pid == -1 {
		return nil
	}
	return m.AddProc(pid)
}

// Exists reports whether the container's main directory exists.
func (m *manager) Exists() bool {
	d := m.mainDir()
	if d == "" {
		return false
	}
	var st unix.Stat_t
	return unix.Stat(d, &st) == nil
}

// mainDir is the directory used for process listing: the cgroup2 one on a
// unified host, else the first v1 hierarchy found in a fixed preference
// order (hierarchies that every container joins).
func (m *manager) mainDir() string {
	if m.mode == Unified {
		return m.paths[""]
	}
	for _, c := range []string{"pids", "freezer", "devices", "memory", "cpu", "name=systemd", ""} {
		if d := m.paths[c]; d != "" {
			return d
		}
	}
	for _, d := range m.dirs() {
		return d
	}
	return ""
}

// OpenUnified opens the cgroup2 directory for CLONE_INTO_CGROUP.
func (m *manager) OpenUnified() (*os.File, error) {
	if m.mode != Unified {
		return nil, unsupportedf("CLONE_INTO_CGROUP needs a pure cgroup v2 host, this one is %s", m.mode)
	}
	return openFile(m.paths[""], unix.O_RDONLY|unix.O_DIRECTORY)
}

// openFile opens path close-on-exec with flags.
func openFile(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenJoin opens the cgroup2 directory and the v1 hierarchies' tasks
// files (see Manager).
func (m *manager) OpenJoin() (unified *os.File, tasks []*os.File, err error) {
	defer func() {
		if err != nil {
			if unified != nil {
				unified.Close()
			}
			for _, f := range tasks {
				f.Close()
			}
			unified, tasks = nil, nil
		}
	}()
	if d := m.paths[""]; d != "" {
		if unified, err = openFile(d, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			return nil, nil, err
		}
	}
	for _, d := range m.dirs() {
		if d == m.paths[""] {
			continue
		}
		f, err := openFile(filepath.Join(d, "tasks"), unix.O_WRONLY)
		if err != nil {
			return unified, tasks, err
		}
		tasks = append(tasks, f)
	}
	return unified, tasks, nil
}
