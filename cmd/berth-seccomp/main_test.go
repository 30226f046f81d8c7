package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berth-dev/berth/seccomp"
)

func TestCompilesAProfile(t *testing.T) {
	var out, errb bytes.Buffer
	in := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	if code := run(nil, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := (&seccomp.Program{Filter: out.Bytes()}).Insns(); err != nil || out.Len() == 0 {
		t.Fatalf("output is no BPF program (%d bytes): %v", out.Len(), err)
	}
}

func TestRefusesBadInputInOneLine(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		in   string
		code int
	}{
		"unknown action": {nil, `{"defaultAction":"SCMP_ACT_BOGUS"}`, seccomp.HelperExitInvalid},
		"not JSON":       {nil, `{"defaultAction":`, seccomp.HelperExitInvalid},
		"extra argument": {[]string{"compile"}, `{}`, 1},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, strings.NewReader(c.in), &out, &errb)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, c.code, errb.String())
		}
		if msg := strings.TrimSuffix(errb.String(), "\n"); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("%s: stderr %q is not one line", name, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%s: wrote %d bytes to stdout", name, out.Len())
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, strings.NewReader(""), &out, &errb); code != 0 || strings.Count(out.String(), ".") != 2 {
		t.Fatalf("version: exit %d, %q %s", code, out.String(), errb.String())
	}
}
