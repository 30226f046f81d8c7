package cgroups

import (
	"fmt"
	"strings"
	"time"
)

// freezeTimeout bounds how long Freeze waits for the kernel to report a
// cgroup frozen (a task in uninterruptible sleep can delay it).
const freezeTimeout = 5 * time.Second

// rethawEvery is after how many unsuccessful checks Freeze thaws the
// cgroup for a moment and freezes it again. A freezer can get stuck: a
// thread in execve waits, uninterruptibly, for its sibling threads to
// exit, and they cannot exit while frozen (seen when a container is paused
// right after start, while its multithreaded init execs the user's
// program). Thawing lets the exec finish; the next freeze then succeeds.
const rethawEvery = 10

// freezerDir returns the directory and whether it is a v1 freezer; cgroup2
// (cgroup.freeze) is used on unified hosts and, in hybrid mode, when no v1
// freezer hierarchy is mounted.
func (m *manager) freezerDir() (string, bool, error) {
	if len(m.paths) == 0 {
		return "", false, noCgroup()
	}
	if m.mode != Unified {
		if d := m.paths["freezer"]; d != "" {
			return d, true, nil
		}
	}
	if d := m.paths[""]; d != "" {
		return d, false, nil
	}
	return "", false, unsupportedf("no freezer: the freezer controller is not mounted")
}

// Freeze freezes the cgroup and waits until it is frozen; on timeout it
// thaws it again and fails.
func (m *manager) Freeze() error {
	d, v1, err := m.freezerDir()
	if err != nil {
		return err
	}
	if v1 {
		err = freezeV1(d)
	} else {
		err = freezeV2(d)
	}
	if err != nil {
		_ = m.Thaw()
		return fmt.Errorf("freeze %s: %w", d, err)
	}
	return nil
}

// Thaw resumes the cgroup.
func (m *manager) Thaw() error {
	d, v1, err := m.freezerDir()
	if err != nil {
		return err
	}
	if v1 {
		return writeFile(d, "freezer.state", "THAWED")
	}
	return writeFile(d, "cgroup.freeze", "0")
}

// FreezerState reports the cgroup's freezer state.
func (m *manager) FreezerState() (FreezerState, error) {
	d, v1, err := m.freezerDir()
	if err != nil {
		return "", err
	}
	if v1 {
		s, err := readFile(d, "freezer.state")
		if err != nil {
			return "", err
		}
		return parseV1Freezer(s)
	}
	return stateV2(d)
}

func parseV1Freezer(s string) (FreezerState, error) {
	switch s {
	case "FROZEN":
		return Frozen, nil
	case "FREEZING":
		return Freezing, nil
	case "THAWED":
		return Thawed, nil
	}
	return "", fmt.Errorf("unknown freezer state %q", s)
}

// stateV2 reads cgroup.freeze (what was asked) and cgroup.events (what the
// kernel achieved).
func stateV2(d string) (FreezerState, error) {
	want, err := readFile(d, "cgroup.freeze")
	if err != nil {
		return "", err
	}
	if want == "0" {
		return Thawed, nil
	}
	ev, err := readFile(d, "cgroup.events")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(ev, "\n") {
		if line == "frozen 1" {
			return Frozen, nil
		}
	}
	return Freezing, nil
}

// waitFor polls until done reports true, with a growing pause starting at
// 100µs (the first check happens at once), for at most freezeTimeout.
// done gets the number of the attempt, from 0.
func waitFor(done func(attempt int) (bool, error)) error {
	deadline := time.Now().Add(freezeTimeout)
	delay := 100 * time.Microsecond
	for i := 0; ; i++ {
		ok, err := done(i)
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", freezeTimeout)
		}
		time.Sleep(delay)
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
}

// freezeV1 writes FROZEN until freezer.state reads FROZEN; the v1 freezer
// may stop half-way (FREEZING) and needs the request repeated, or a brief
// thaw first (see rethawEvery).
func freezeV1(d string) error {
	return waitFor(func(i int) (bool, error) {
		if i > 0 && i%rethawEvery == 0 {
			if err := writeFile(d, "freezer.state", "THAWED"); err != nil {
				return false, err
			}
			time.Sleep(time.Millisecond)
		}
		if err := writeFile(d, "freezer.state", "FROZEN"); err != nil {
			return false, err
		}
		s, err := readFile(d, "freezer.state")
		return s == "FROZEN", err
	})
}

// freezeV2 writes cgroup.freeze and waits for cgroup.events to report the
// cgroup frozen, thawing briefly now and then (see rethawEvery).
func freezeV2(d string) error {
	if err := writeFile(d, "cgroup.freeze", "1"); err != nil {
		return err
	}
	return waitFor(func(i int) (bool, error) {
		if i > 0 && i%rethawEvery == 0 {
			if err := writeFile(d, "cgroup.freeze", "0"); err != nil {
				return false, err
			}
			time.Sleep(time.Millisecond)
			if err := writeFile(d, "cgroup.freeze", "1"); err != nil {
				return false, err
			}
		}
		s, err := stateV2(d)
		return s == Frozen, err
	})
}
