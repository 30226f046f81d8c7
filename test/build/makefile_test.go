// Package build_test checks the Makefile.
package build_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repo is the repository's root.
func repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func needMake(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make:", err)
	}
}

// Every binary the Makefile lists has its ./cmd/ directory, and a name
// that is not listed is no target.
func TestMakefileBinariesExist(t *testing.T) {
	needMake(t)
	out, err := exec.Command("make", "-s", "-C", repo(), "--eval=print-binaries: ; @echo $(BINARIES)", "print-binaries").Output()
	if err != nil {
		t.Fatalf("make print-binaries: %v", err)
	}
	names := strings.Fields(string(out))
	if len(names) == 0 {
		t.Fatal("the Makefile lists no binaries")
	}
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(repo(), "cmd", n)); err != nil || !st.IsDir() {
			t.Errorf("the Makefile lists %s, but cmd/%s is not a directory (%v)", n, n, err)
		}
	}
	if b, err := exec.Command("make", "-C", repo(), "berth-no-such-binary").CombinedOutput(); err == nil {
		t.Errorf("make berth-no-such-binary succeeded: %s", b)
	}
}

// A listed binary whose ./cmd/ directory is missing fails the build
// loudly, naming the directory, instead of being skipped: binaries of
// each rule (the shared pure-Go one and berth-seccomp's).
func TestMakefileMissingCmdFails(t *testing.T) {
	needMake(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go:", err)
	}
	dir := t.TempDir()
	mk, err := os.ReadFile(filepath.Join(repo(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), mk, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"berth-shim", "berth-runtime", "berth-seccomp"} {
		out, err := exec.Command("make", "-C", dir, name).CombinedOutput()
		if err == nil {
			t.Fatalf("make %s without cmd/%s succeeded: %s", name, name, out)
		}
		if !strings.Contains(string(out), "cmd/"+name) {
			t.Fatalf("make %s failed without naming the missing directory: %s", name, out)
		}
		if entries, _ := os.ReadDir(filepath.Join(dir, "bin")); len(entries) != 0 {
			t.Fatalf("make %s wrote binaries: %v", name, entries)
		}
	}
}
