package runtime_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sideBySide runs f for berth-runtime and, where it is installed, for
// runc, each in its own root: what runc's users and scripts parse must
// come out of both alike. name is the binary's name as it prints it.
func sideBySide(t *testing.T, f func(t *testing.T, e *env, name string)) {
	t.Run("berth-runtime", func(t *testing.T) { f(t, newEnv(t), "berth-runtime") })
	t.Run("runc", func(t *testing.T) {
		runc, err := exec.LookPath("runc")
		if err != nil {
			t.Skip("runc is not installed")
		}
		e := newEnv(t)
		e.bin = runc
		f(t, e, "runc")
	})
}

// lines splits output into lines without the final newline.
func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// The runtime-spec version is one: what spec writes, what features gives
// as the maximum, what state reports and what --version prints (for
// berth-runtime, the runtime-spec module's it is built with).
func TestSpecVersionOneSource(t *testing.T) {
	sideBySide(t, func(t *testing.T, e *env, name string) {
		dir := t.TempDir()
		e.must("spec", "--bundle", dir)
		var written struct {
			OCIVersion string `json:"ociVersion"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil || json.Unmarshal(b, &written) != nil {
			t.Fatalf("spec: %s (%v)", b, err)
		}
		var f struct {
			Max string `json:"ociVersionMax"`
		}
		if err := json.Unmarshal([]byte(e.must("features")), &f); err != nil {
			t.Fatal(err)
		}
		var printed string
		for _, l := range lines(e.must("--version")) {
			if v, ok := strings.CutPrefix(l, "spec: "); ok {
				printed = v
			}
		}
		id := e.id()
		e.must("create", "--bundle", e.bundle([]string{"true"}, nil), id)
		state := e.state(id).Version
		e.must("delete", "--force", id)
		if written.OCIVersion == "" || f.Max != written.OCIVersion || state != written.OCIVersion || printed != written.OCIVersion {
			t.Fatalf("%s: spec writes %q, features max %q, state %q, --version %q", name, written.OCIVersion, f.Max, state, printed)
		}
		if name == "berth-runtime" && written.OCIVersion != specs.Version {
			t.Fatalf("spec writes %q, the runtime-spec module is %q", written.OCIVersion, specs.Version)
		}
	})
}
