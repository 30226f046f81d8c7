package runtime_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/imagetest"
)

// specMap runs `spec ARGS` with the env's runtime in a fresh directory
// and returns config.json as generic JSON, the way a script sees it.
func specMap(t *testing.T, e *env, args ...string) (string, map[string]any) {
	t.Helper()
	dir := t.TempDir()
	cmd := e.cmd(append([]string{"spec"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s spec %v: %v: %s", e.bin, args, err, out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(readHost(t, filepath.Join(dir, "config.json"))), &m); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// pureV2 reports whether the host has only the cgroup2 hierarchy.
func pureV2(t *testing.T) bool {
	m := cgroupMounts(t)
	_, v2 := m[""]
	return v2 && len(m) == 1
}

// TestSpecTemplateIsRuncs: `spec` (and `spec --rootless`) write runc's
// template: runc's three capabilities, no seccomp profile, runc's
// namespaces (a cgroup namespace only on a pure cgroup v2 host). Compared
// with `runc spec` field by field, except for known differences: the
// ociVersion and hostname, runc 1.1's ambient set (which it cannot raise
// without an inheritable one), and the /sys/fs/cgroup mount of a rootless
// config.
func TestSpecTemplateIsRuncs(t *testing.T) {
	e := newEnv(t)
	_, s := specMap(t, e)
	caps := s["process"].(map[string]any)["capabilities"].(map[string]any)
	if got := caps["bounding"]; !reflect.DeepEqual(got, []any{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}) {
		t.Errorf("bounding set %v, want runc's", got)
	}
	linux := s["linux"].(map[string]any)
	if _, ok := linux["seccomp"]; ok {
		t.Error("the default template has a seccomp profile; runc's has none")
	}
	if ns, _ := json.Marshal(linux["namespaces"]); strings.Contains(string(ns), `"cgroup"`) != pureV2(t) {
		t.Errorf("namespaces %s: a cgroup namespace only on a pure cgroup v2 host", ns)
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed: no side-by-side comparison")
	}
	re := &env{t: t, root: e.root, bin: runc}
	for _, args := range [][]string{nil, {"--rootless"}} {
		_, b := specMap(t, e, args...)
		_, r := specMap(t, re, args...)
		for _, m := range []map[string]any{b, r} {
			delete(m, "ociVersion")
			delete(m, "hostname")
			delete(m["process"].(map[string]any)["capabilities"].(map[string]any), "ambient")
		}
		if len(args) > 0 {
			var mounts []any
			for _, mt := range r["mounts"].([]any) {
				if mt.(map[string]any)["destination"] != "/sys/fs/cgroup" {
					mounts = append(mounts, mt)
				}
			}
			r["mounts"] = mounts
		}
		if !reflect.DeepEqual(b, r) {
			bj, _ := json.MarshalIndent(b, "", " ")
			rj, _ := json.MarshalIndent(r, "", " ")
			t.Errorf("spec %v differs from runc's:\nberth: %s\nrunc: %s", args, bj, rj)
		}
	}
}

// TestSpecScriptEdits: edits a script makes to runc's template work the
// same on berth-runtime's: a permitted set written without touching the
// effective one, a cgroup path the process then sees in /proc/self/cgroup
// (no cgroup namespace unless the host is pure cgroup v2), and a cgroup
// namespace added by the script.
func TestSpecScriptEdits(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env) {
		dir, s := specMap(t, e)
		if err := imagetest.BuildRootfs(filepath.Join(dir, "rootfs")); err != nil {
			t.Fatal(err)
		}
		id := e.id()
		proc := s["process"].(map[string]any)
		proc["terminal"] = false
		proc["args"] = []any{"cat", "/proc/self/cgroup"}
		caps := proc["capabilities"].(map[string]any)
		set := []any{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
		caps["bounding"], caps["permitted"] = set, set
		linux := s["linux"].(map[string]any)
		linux["cgroupsPath"] = "/" + id
		writeJSON(t, filepath.Join(dir, "config.json"), s)
		r := e.run("run", "--bundle", dir, id)
		if r.code != 0 {
			t.Fatalf("edited template: exit %d: %s", r.code, r.err)
		}
		want := ":/" + id + "\n"
		if pureV2(t) {
			want = "0::/\n"
		}
		if !strings.Contains(r.out, want) {
			t.Errorf("/proc/self/cgroup %q lacks %q", r.out, want)
		}
		if pureV2(t) {
			return // runc's template has the cgroup namespace already
		}
		linux["namespaces"] = append(linux["namespaces"].([]any), map[string]any{"type": "cgroup"})
		id = e.id()
		linux["cgroupsPath"] = "/" + id
		writeJSON(t, filepath.Join(dir, "config.json"), s)
		if r := e.run("run", "--bundle", dir, id); r.code != 0 || strings.Contains(r.out, id) {
			t.Errorf("with a cgroup namespace added: exit %d, stdout %q, stderr %s", r.code, r.out, r.err)
		}
	})
}
