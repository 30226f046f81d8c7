package command

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/runtime"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "4096": 4096, "-1": -1, "4k": 4 << 10, "4K": 4 << 10, "4m": 4 << 20, "4MB": 4 << 20,
		"4MiB": 4 << 20, "2g": 2 << 30, "1t": 1 << 40, "512b": 512, " 8m ": 8 << 20,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "lots", "-2", "-5m", "1.5g", "4x", "99999999999999999999", "9000000000000t"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestReadResources(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, "r.json")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r, err := readResources(file(`{"memory": {"limit": 1048576}, "pids": {"limit": 5}}` + "\n"))
	if err != nil || r.Memory == nil || *r.Memory.Limit != 1<<20 || *r.Pids.Limit != 5 || r.CPU != nil {
		t.Fatalf("good file: %+v, %v", r, err)
	}
	if r, err := readResources(""); err != nil || r.Memory != nil {
		t.Fatalf("no file: %+v, %v", r, err)
	}
	bad := map[string]string{
		`{"memory": {"limit": 1, "nope": 2}}`: `unknown field "nope"`,
		`{"memory": {"limit": `:               "unexpected end of input",
		`{"memory": {"limit": 1}} {}`:         "after the JSON object",
		`{"memory": {"limit": "1"}}`:          `field "memory.limit"`,
		`{"memory" 1}`:                        "malformed JSON at byte",
		``:                                    "empty input",
		`[1]`:                                 "cannot use a JSON array",
	}
	for content, want := range bad {
		_, err := readResources(file(content))
		if err == nil || !errors.Is(err, runtime.ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want ErrInvalidConfig mentioning %q", content, err, want)
		}
	}
}
