package runtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// counter reads the number a container's loop writes to /tmp/count in its
// rootfs; -1 when the file is missing or half-written.
func counter(bundle string) int {
	b, err := os.ReadFile(filepath.Join(bundle, "rootfs", "tmp", "count"))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.01; done"}, nil)
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	e.fails("cannot resume a running container", "resume", id)
	waitFor(t, func() bool { return counter(b) >= 3 })

	e.must("pause", id)
	if st := e.state(id); st.Status != specs.ContainerState("paused") {
		t.Fatalf("status after pause: %s", st.Status)
	}
	if out := e.must("list"); !strings.Contains(out, "paused") {
		t.Fatalf("list does not show paused: %q", out)
	}
	e.fails("cannot pause a paused container", "pause", id)
	// Frozen tasks cannot run however long we look; a fixed pause just
	// gives a running loop plenty of chances to show itself.
	frozen := counter(b)
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		if c := counter(b); c != frozen {
			t.Fatalf("counter moved from %d to %d while paused", frozen, c)
		}
	}
	// ps works on a paused container.
	var pids []int
	if err := json.Unmarshal([]byte(e.must("ps", "--format", "json", id)), &pids); err != nil || len(pids) == 0 {
		t.Fatalf("ps of a paused container: %v %v", pids, err)
	}

	e.must("resume", id)
	if st := e.state(id); st.Status != specs.StateRunning {
		t.Fatalf("status after resume: %s", st.Status)
	}
	waitFor(t, func() bool { return counter(b) > frozen })

	e.must("kill", id, "KILL")
	e.waitStatus(id, specs.StateStopped)
	e.fails("cannot pause a stopped container", "pause", id)
	e.fails("cannot resume a stopped container", "resume", id)
	e.fails("does not exist", "pause", "berth-test-nonexistent")

	// A created container cannot be paused: start could not release it.
	id2 := e.id()
	e.must("create", "-b", b, id2)
	e.fails("cannot pause a created container", "pause", id2)
	e.must("start", id2)
}

func TestDeleteForcePaused(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "sleep 300 & sleep 301 & wait"}, nil)
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	e.must("pause", id)
	e.fails("without --force", "delete", id)
	if st := e.state(id); st.Status != specs.ContainerState("paused") {
		t.Fatalf("failed delete changed status to %s", st.Status)
	}
	e.must("delete", "--force", id)
	e.noState(id)
	// The leak check verifies that no process and no cgroup is left.
}

// psPids returns the pids `ps --format json` lists.
func (e *env) psPids(id string) []int {
	e.t.Helper()
	var pids []int
	if err := json.Unmarshal([]byte(e.must("ps", "--format", "json", id)), &pids); err != nil {
		e.t.Fatal(err)
	}
	return pids
}

func TestPsAndKillAll(t *testing.T) {
	e := newEnv(t)
	// Three levels: init sh, a child sh, and their sleeps.
	b := e.bundle([]string{"sh", "-c", "sh -c 'sleep 302 & wait' & sleep 301 & wait"}, nil)
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	init := e.state(id).Pid
	var pids []int
	waitFor(t, func() bool { pids = e.psPids(id); return len(pids) == 4 })
	if !slices.Contains(pids, init) {
		t.Fatalf("ps %v lacks the init %d", pids, init)
	}
	// The table (ps -ef by default, or the given ps options) has a header
	// and exactly the processes of the json list.
	for _, args := range [][]string{{"ps", id}, {"ps", id, "-o", "comm,pid"}} {
		out := e.must(args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		col := slices.Index(strings.Fields(lines[0]), "PID")
		if col < 0 {
			t.Fatalf("%v: no PID column: %q", args, out)
		}
		var got []int
		for _, l := range lines[1:] {
			n, _ := strconv.Atoi(strings.Fields(l)[col])
			got = append(got, n)
		}
		slices.Sort(got)
		if !slices.Equal(got, pids) {
			t.Errorf("%v lists pids %v, want %v: %q", args, got, pids, out)
		}
	}
	e.fails("--format", "ps", "--format", "yaml", id)

	// The init of a pid namespace ignores SIGTERM (no handler); only the
	// other processes die of it, after which the init's wait returns and
	// the container stops. Signalling the init alone would never stop it.
	e.must("kill", "--all", id, "TERM")
	e.waitStatus(id, specs.StateStopped)
	for _, p := range pids {
		if _, err := os.Stat("/proc/" + itoa(p)); err == nil {
			if st, _ := os.ReadFile("/proc/" + itoa(p) + "/stat"); !strings.Contains(string(st), ") Z ") {
				t.Errorf("process %d survived kill --all", p)
			}
		}
	}
}

// stats is the part of runc's stats event the tests check.
type stats struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data *struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Usage uint64 `json:"usage"`
				Limit uint64 `json:"limit"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
		Blkio   map[string]json.RawMessage `json:"blkio"`
		Hugetlb map[string]json.RawMessage `json:"hugetlb"`
	} `json:"data"`
}

func TestEventsStats(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"sh", "-c", "head -c 4194304 /dev/zero > /dev/shm/x; sleep 300 & touch /tmp/started; wait"}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(20))}
	})
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	waitFor(t, func() bool {
		_, err := os.Stat(filepath.Join(b, "rootfs", "tmp", "started"))
		return err == nil && len(e.psPids(id)) == 2
	})
	out := e.must("events", "--stats", id)
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("events --stats printed %d lines: %q", strings.Count(out, "\n"), out)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw["data"], &data); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cpu", "memory", "pids", "blkio", "hugetlb"} {
		if _, ok := data[k]; !ok {
			t.Errorf("stats data lacks %q: %s", k, out)
		}
	}
	var s stats
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "stats" || s.ID != id || s.Data == nil {
		t.Fatalf("event: %s", out)
	}
	d := s.Data
	if d.Pids.Current != 2 || d.Pids.Limit != 20 {
		t.Errorf("pids %+v, want current 2 limit 20", d.Pids)
	}
	if d.Memory.Usage.Usage < 4<<20 || d.Memory.Usage.Limit != 64<<20 {
		t.Errorf("memory usage %d (want at least the 4 MiB in /dev/shm), limit %d", d.Memory.Usage.Usage, d.Memory.Usage.Limit)
	}
	if d.CPU.Usage.Total == 0 {
		t.Errorf("cpu usage is 0")
	}

	e.fails("--interval must be positive", "events", "--interval", "0s", id)
	e.must("kill", "--all", id, "KILL")
	e.waitStatus(id, specs.StateStopped)
	e.fails("not running", "events", "--stats", id)
	e.fails("does not exist", "events", "--stats", "berth-test-nonexistent")
}

func TestEventsOOM(t *testing.T) {
	e := newEnv(t)
	// tail keeps all of its newline-free input: 100 MB cannot fit in 16.
	b := e.bundle([]string{"sh", "-c", "head -c 100m /dev/zero | tail > /dev/null; sleep 0.2"}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(16 << 20)), Swap: ptr(int64(16 << 20))}
	})
	id := e.id()
	e.must("create", "-b", b, id)
	e.must("start", id)
	// events streams until the container stops; OOM kills that happened
	// before it attached are reported too, so there is no race.
	r := e.run("events", "--interval", "100ms", id)
	if r.code != 0 {
		t.Fatalf("events: exit %d: %s", r.code, r.err)
	}
	var types []string
	sc := bufio.NewScanner(strings.NewReader(r.out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("events line %q: %v", sc.Text(), err)
		}
		if ev.ID != id {
			t.Fatalf("event for %q, want %q", ev.ID, id)
		}
		types = append(types, ev.Type)
	}
	if !slices.Contains(types, "oom") {
		t.Fatalf("no oom event in %v", types)
	}
	if st := e.state(id); st.Status != specs.StateStopped {
		t.Fatalf("status after the OOM kill: %s", st.Status)
	}
}

// TestEventsOOMKillerDisabled: with the OOM killer disabled nothing is
// killed, the container's memory hog just waits; events still reports
// the out-of-memory condition, and the container can be killed.
func TestEventsOOMKillerDisabled(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("cgroup v2 has no switch for the OOM killer")
	}
	// awk's doubling string runs out of memory in user space, where the
	// kernel makes it wait (a read(2) into a full cgroup would just fail).
	b := e.bundle([]string{"sh", "-c", `awk 'BEGIN { s = "x"; while (1) s = s s }'`}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr(int64(16 << 20)), Swap: ptr(int64(16 << 20)), DisableOOMKiller: ptr(true)}
	})
	id := e.id()
	e.must("run", "-d", "-b", b, id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--root", e.root, "events", "--interval", "100ms", id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	sawOOM := false
	for !sawOOM && sc.Scan() {
		sawOOM = strings.HasPrefix(sc.Text(), `{"type":"oom"`)
	}
	if !sawOOM {
		t.Fatalf("events ended without an oom event: %v", sc.Err())
	}
	if st := e.state(id); st.Status != specs.StateRunning {
		t.Fatalf("status under OOM with the killer disabled: %s", st.Status)
	}
	e.must("kill", "--all", id, "KILL")
	e.waitStatus(id, specs.StateStopped)
	// events ends by itself once the container has stopped.
	for sc.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("events: %v", err)
	}
}
