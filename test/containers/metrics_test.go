package containers_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// scrape returns the value of each series named metric whose labels hold
// id="ID", keyed by the series' labels.
func scrape(t *testing.T, addr, metric, id string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %v %s", err, resp.Status)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		rest, named := strings.CutPrefix(l, metric+"{")
		labels, value, ok := strings.Cut(rest, "} ")
		if named && ok && strings.Contains(labels, `id="`+id+`"`) {
			got[labels] = value
		}
	}
	return got
}

func TestMetricsServeContainerLimitAndPids(t *testing.T) {
	e := newEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_ = e.berthd.Process.Signal(syscall.SIGTERM)
	_ = e.berthd.Wait()
	e.args = []string{"--metrics-address", addr}
	e.start()

	id := strings.TrimSpace(e.ok("run", "-d", "--name", "limited", "--memory", "64m", e.ref, "sleep", "1000"))
	limit := scrape(t, addr, "berth_container_memory_limit_bytes", id)
	want := `id="` + id + `",image="` + e.ref + `",name="limited",namespace="default"`
	if len(limit) != 1 || limit[want] != "6.7108864e+07" {
		t.Fatalf("memory limit series of %s: %v, want {%s} 6.7108864e+07", id, limit, want)
	}
	for _, v := range scrape(t, addr, "berth_container_pids", id) {
		if v == "0" {
			t.Fatalf("container %s has %s pids", id, v)
		}
	}
	if len(scrape(t, addr, "berth_container_pids", id)) != 1 {
		t.Fatalf("no pids series for %s", id)
	}
	e.ok("rm", "-f", "limited")
	if got := scrape(t, addr, "berth_container_memory_limit_bytes", id); len(got) != 0 {
		t.Fatalf("series of removed %s: %v", id, got)
	}
	e.nothingLeft()
}
