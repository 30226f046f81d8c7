package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunPassesStateAndArgs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$0"; echo "$X" >> "$0"`, out}, Env: []string{"X=env-ok"}}
	if err := Run("prestart", []specs.Hook{h}, []byte(`{"id":"c1"}`)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != "{\"id\":\"c1\"}env-ok\n" {
		t.Fatalf("hook saw %q", got)
	}
}

func TestRunFailureAndTimeout(t *testing.T) {
	fail := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo boom >&2; exit 3"}}
	err := Run("createRuntime", []specs.Hook{fail}, nil)
	if !errors.Is(err, ErrHook) || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "createRuntime") {
		t.Fatalf("err = %v", err)
	}
	one := 1
	slow := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 30"}, Timeout: &one}
	err = Run("poststart", []specs.Hook{slow}, nil)
	if !errors.Is(err, ErrHook) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	zero := 0
	if err := Run("prestart", []specs.Hook{{Path: "/bin/true", Timeout: &zero}}, nil); err == nil {
		t.Fatal("zero timeout accepted")
	}
	if err := Run("prestart", []specs.Hook{{Path: "/nonexistent/hook"}}, nil); !errors.Is(err, ErrHook) {
		t.Fatalf("missing hook: %v", err)
	}
}
