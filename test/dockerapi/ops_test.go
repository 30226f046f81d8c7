package dockerapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// statsSample is what Docker clients read of a stats sample.
type statsSample struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		SystemUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs  uint32 `json:"online_cpus"`
	} `json:"cpu_stats"`
	PreCPUStats struct {
		SystemUsage uint64 `json:"system_cpu_usage"`
	} `json:"precpu_stats"`
	MemoryStats struct {
		Usage uint64 `json:"usage"`
		Limit uint64 `json:"limit"`
	} `json:"memory_stats"`
	PidsStats struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
}

// TestStatsAndTop checks `docker stats --no-stream` (sane figures), a
// raw stats stream (two samples, the second with precpu_stats), a
// one-shot sample, a stopped container's empty sample, `docker top`
// with and without ps options, and the errors.
func TestStatsAndTop(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	id := e.ok("run", "-d", "--name", "st", e.ref, "sh", "-c", "exec sleep 1000")
	line := e.ok("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.CPUPerc}}|{{.PIDs}}")
	f := strings.Split(line, "|")
	if len(f) != 4 || f[0] != "st" || strings.HasPrefix(f[1], "0B") || !strings.Contains(f[1], " / ") ||
		!strings.HasSuffix(f[2], "%") || f[3] != "1" {
		t.Errorf("docker stats --no-stream: %q, want st, a non-zero memory use of a limit, a CPU %%, 1 pid", line)
	}

	resp := e.get("/v1.50/containers/st/stats")
	dec := json.NewDecoder(resp.Body)
	var samples [2]statsSample
	for i := range samples {
		if err := dec.Decode(&samples[i]); err != nil {
			t.Fatalf("stats stream sample %d: %v", i, err)
		}
	}
	resp.Body.Close()
	s := samples[1]
	if s.ID != id || s.Name != "/st" || s.MemoryStats.Usage == 0 || s.MemoryStats.Limit < s.MemoryStats.Usage ||
		s.CPUStats.OnlineCPUs == 0 || s.PreCPUStats.SystemUsage == 0 || s.CPUStats.SystemUsage < s.PreCPUStats.SystemUsage ||
		s.CPUStats.CPUUsage.TotalUsage == 0 || s.PidsStats.Current != 1 {
		t.Errorf("second stats sample: %+v", s)
	}
	code, _, body := e.request("GET", "/v1.50/containers/st/stats?stream=false&one-shot=true", "")
	var one statsSample
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one.MemoryStats.Usage == 0 || one.PreCPUStats.SystemUsage != 0 {
		t.Errorf("one-shot stats: %d %s", code, body)
	}

	out := e.ok("top", "st")
	if lines := strings.Split(out, "\n"); len(lines) != 2 || !strings.Contains(lines[0], "PID") || !strings.HasSuffix(lines[1], "sleep 1000") {
		t.Errorf("docker top st: %q", out)
	}
	pid := e.ok("inspect", "--format", "{{.State.Pid}}", "st")
	if out := e.ok("top", "st", "-o", "pid,comm"); strings.Join(strings.Fields(out), " ") != "PID COMMAND "+pid+" sleep" {
		t.Errorf("docker top st -o pid,comm: %q, want pid %s", out, pid)
	}

	e.ok("kill", "st")
	e.ok("wait", "st")
	code, _, body = e.request("GET", "/v1.50/containers/st/stats?stream=false", "")
	var stopped statsSample
	if err := json.Unmarshal([]byte(body), &stopped); code != 200 || err != nil || stopped.ID != id || stopped.MemoryStats.Usage != 0 {
		t.Errorf("stats of a stopped container: %d %s", code, body)
	}
	if _, stderr, code := e.docker("top", "st"); code == 0 || !strings.Contains(stderr, "is not running") {
		t.Errorf("docker top of a stopped container: exit %d, %q", code, stderr)
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{"/v1.50/containers/nosuch/stats?stream=false", 404},
		{"/v1.50/containers/nosuch/top", 404},
		{"/v1.50/containers/st/top", 409},
		{"/v1.50/containers/st/stats?stream=true&one-shot=true", 400},
	} {
		if code, _, body := e.request("GET", c.path, ""); code != c.code || errMessage(t, body) == "" || strings.Contains(body, "\n\t") {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, body, c.code)
		}
	}
	e.ok("rm", "st")
	e.nothingLeft()
}

// get sends a GET whose streamed body the caller reads and closes.
func (e *env) get(path string) *http.Response {
	e.t.Helper()
	resp, err := e.http.Get("http://docker" + path)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("GET %s: %v %v", path, resp, err)
	}
	return resp
}

// cgroupFile reads a file of pid's cgroup in controller (v1), else of
// its unified cgroup (v2, file2).
func cgroupFile(t *testing.T, pid, controller, file, file2 string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		var p string
		switch {
		case strings.Contains(","+f[1]+",", ","+controller+","):
			p = filepath.Join("/sys/fs/cgroup", f[1], f[2], file)
		case f[0] == "0" && f[1] == "":
			p = filepath.Join("/sys/fs/cgroup", f[2], file2)
		default:
			continue
		}
		if v, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(v))
		}
	}
	t.Fatalf("no %s cgroup file for pid %s: %s", controller, pid, b)
	return ""
}

// frozen says whether pid's cgroup is frozen.
func frozen(t *testing.T, pid string) bool {
	v := cgroupFile(t, pid, "freezer", "freezer.state", "cgroup.events")
	return v == "FROZEN" || strings.Contains(v, "frozen 1")
}

// TestPauseRenameUpdatePrune checks pause and unpause (the state and
// the frozen cgroup), rename and use of the new name, update's limits in
// inspect and in the cgroup, container prune by label and at last of
// every stopped one, and Docker's errors for each.
func TestPauseRenameUpdatePrune(t *testing.T) {
	e := newEnv(t)
	e.ok("pull", "-q", e.ref)
	e.ok("run", "-d", "--name", "p1", e.ref, "sh", "-c", "exec sleep 1000")
	pid := e.ok("inspect", "--format", "{{.State.Pid}}", "p1")
	e.ok("pause", "p1")
	if got := e.ok("inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "p1"); got != "paused true true" || !frozen(t, pid) {
		t.Errorf("after pause: %q, frozen %v", got, frozen(t, pid))
	}
	if got := e.ok("ps", "--format", "{{.Status}}"); !strings.HasSuffix(got, "(Paused)") {
		t.Errorf("docker ps of a paused container: %q", got)
	}
	e.apiFails(409, "POST", "/v1.50/containers/p1/pause", "is already paused")
	e.ok("unpause", "p1")
	if got := e.ok("inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "p1"); got != "running false" || frozen(t, pid) {
		t.Errorf("after unpause: %q, frozen %v", got, frozen(t, pid))
	}
	e.apiFails(409, "POST", "/v1.50/containers/p1/unpause", "is not paused")

	e.ok("rename", "p1", "p2")
	if got := e.ok("inspect", "--format", "{{.Name}} {{.State.Pid}}", "p2"); got != "/p2 "+pid {
		t.Errorf("inspect after rename: %q", got)
	}
	e.apiFails(404, "POST", "/v1.50/containers/p1/rename?name=p3", "no such container")
	e.ok("create", "--name", "taken", "--label", "prune=yes", e.ref, "true")
	if _, stderr, code := e.docker("rename", "p2", "taken"); code == 0 || !strings.Contains(stderr, `The container name "/taken" is already in use`) {
		t.Errorf("docker rename to a name in use: exit %d, %q", code, stderr)
	}
	e.apiFails(409, "POST", "/v1.50/containers/p2/rename?name=taken", "already in use")
	e.apiFails(400, "POST", "/v1.50/containers/p2/rename?name=bad%20name", "Invalid container name")
	e.apiFails(400, "POST", "/v1.50/containers/p2/rename?name=", "may be empty")
	e.apiFails(409, "POST", "/v1.50/containers/taken/pause", "is not running")

	e.ok("update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "--restart", "on-failure:2", "p2")
	if got := e.ok("inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "p2"); got != "67108864 500000000 50 on-failure:2" {
		t.Errorf("inspect after update: %q", got)
	}
	if got := cgroupFile(t, pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(64<<20) {
		t.Errorf("memory limit in the cgroup after update: %q", got)
	}
	e.ok("update", "--cpuset-cpus", "0", "--memory-swap", "128m", "p2")
	if got := e.ok("inspect", "--format", "{{.HostConfig.CpusetCpus}} {{.HostConfig.MemorySwap}}", "p2"); got != "0 134217728" {
		t.Errorf("inspect after update --cpuset-cpus --memory-swap: %q", got)
	}
	if got := cgroupFile(t, pid, "cpuset", "cpuset.cpus", "cpuset.cpus"); got != "0" {
		t.Errorf("cpuset.cpus after update: %q", got)
	}
	if _, stderr, code := e.docker("update", "--cpuset-cpus", "0-4095", "p2"); code == 0 || !strings.Contains(stderr, "cpu.cpus") {
		t.Errorf("docker update --cpuset-cpus 0-4095: exit %d, %q", code, stderr)
	}
	if _, stderr, code := e.docker("update", "--blkio-weight", "300", "p2"); code == 0 || !strings.Contains(stderr, "does not serve updating BlkioWeight") {
		t.Errorf("docker update --blkio-weight: exit %d, %q", code, stderr)
	}
	e.apiFails(404, "POST", "/v1.50/containers/nosuch/update", "no such container")
	e.apiFails(400, "POST", "/v1.50/containers/p2/update", "malformed JSON", `{"Memory":"lots"}`)

	e.ok("run", "--name", "done", e.ref, "true")
	takenID := e.ok("inspect", "--format", "{{.Id}}", "taken")
	out := e.ok("container", "prune", "-f", "--filter", "label=prune=yes")
	if !strings.Contains(out, "Deleted Containers:\n"+takenID+"\n") {
		t.Errorf("docker container prune --filter label: %q", out)
	}
	if got := e.ok("ps", "-a", "--format", "{{.Names}}"); got != "done\np2" && got != "p2\ndone" {
		t.Errorf("after prune by label, containers %q, want done and p2", got)
	}
	if out := e.ok("container", "prune", "-f", "--filter", "until=1h"); strings.Contains(out, "Deleted") {
		t.Errorf("docker container prune --filter until=1h removed some: %q", out)
	}
	e.ok("container", "prune", "-f")
	if got := e.ok("ps", "-a", "--format", "{{.Names}} {{.State}}"); got != "p2 running" {
		t.Errorf("after prune, containers %q, want p2 running", got)
	}
	if _, stderr, code := e.docker("container", "prune", "-f", "--filter", "colour=blue"); code == 0 || !strings.Contains(stderr, "invalid filter 'colour'") {
		t.Errorf("docker container prune --filter colour: exit %d, %q", code, stderr)
	}
	e.apiFails(400, "POST", "/v1.50/containers/prune?filters="+`%7B%22until%22%3A%5B%22soon%22%5D%7D`, "invalid filter 'until=soon'")
	e.ok("rm", "-f", "p2")
	e.nothingLeft()
}

// apiFails sends a request (an optional JSON body) and checks the status
// and that the one-line JSON message holds want.
func (e *env) apiFails(status int, method, path, want string, body ...string) {
	e.t.Helper()
	code, _, resp := e.request(method, path, strings.Join(body, ""))
	msg := errMessage(e.t, resp)
	if code != status || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		e.t.Errorf("%s %s: %d %s, want %d %q", method, path, code, resp, status, want)
	}
}
