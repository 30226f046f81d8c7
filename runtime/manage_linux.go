package runtime

import (
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Info is one row of list, in the JSON shape of runc's list.
type Info struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// List returns every container under the root, sorted by ID.
func (r *Runtime) List() ([]Info, error) {
	ids, err := r.store().list()
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	var out []Info
	for _, id := range ids {
		st, status, err := r.StateOf(id)
		if err != nil {
			continue // a container being created or deleted right now
		}
		pid := st.Pid
		if status == Stopped {
			pid = 0
		}
		out = append(out, Info{
			OCIVersion: specs.Version, ID: id, Pid: pid, Status: status, Bundle: st.Bundle, Rootfs: st.Rootfs,
			Created: st.Created.Format("2006-01-02T15:04:05.999999999Z"), Owner: owner(r.store().dir(id)),
			Annotations: st.Annotations,
		})
	}
	return out, nil
}

func owner(path string) string {
	var s syscall.Stat_t
	if syscall.Stat(path, &s) != nil {
		return ""
	}
	if u, err := user.LookupId(strconv.Itoa(int(s.Uid))); err == nil {
		return u.Username
	}
	return "#" + strconv.Itoa(int(s.Uid))
}

// Pids lists the processes of a container.
func (r *Runtime) Pids(id string) ([]int, error) {
	st, err := r.store().load(id)
	if err != nil {
		return nil, err
	}
	m, err := r.cgroupOf(st)
	var pids []int
	if err == nil {
		pids, err = m.Pids()
	}
	if _, ownPidNS := st.Namespaces[specs.PIDNamespace]; err != nil && ownPidNS && st.alive() {
		// A rootless container may run without a cgroup of its own: its
		// processes are then those in its pid namespace.
		if ns, nerr := pidsInNamespaceOf(st.Pid); nerr == nil {
			pids, err = ns, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", id, err)
	}
	sort.Ints(pids)
	return pids, nil
}

// pidsInNamespaceOf lists the processes that share pid's pid namespace.
func pidsInNamespaceOf(pid int) ([]int, error) {
	want, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == want {
			out = append(out, p)
		}
	}
	return out, nil
}

// Pause freezes every process of a running container.
func (r *Runtime) Pause(id string) error {
	return r.freeze(id, true)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	return r.freeze(id, false)
}

func (r *Runtime) freeze(id string, on bool) error {
	// A created container is not paused either: its frozen init could not
	// take the start signal, and start would wait for it forever.
	check := onlyIn("resume", Paused)
	if on {
		check = onlyIn("pause", Running)
	}
	st, _, unlock, err := r.lockedState(id, check)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := r.cgroupOf(st)
	if err != nil {
		return err
	}
	if on {
		if err := m.Freeze(); err != nil {
			return fmt.Errorf("pause %s: %w", id, err)
		}
		return nil
	}
	if err := m.Thaw(); err != nil {
		return fmt.Errorf("resume %s: %w", id, err)
	}
	return nil
}
