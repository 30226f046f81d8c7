package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// compare runs compare.sh on canned result files and returns its output
// and exit code.
func compare(t *testing.T, runc, berth string, refusals ...string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	r, b := filepath.Join(dir, "runc"), filepath.Join(dir, "berth")
	for p, s := range map[string]string{r: runc, b: berth} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"compare.sh", r, b}
	if len(refusals) > 0 {
		f := filepath.Join(dir, "refusals")
		if err := os.WriteFile(f, []byte(strings.Join(refusals, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
	}
	out, err := exec.Command("bash", args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// section returns the lines of out's section whose heading starts with
// prefix.
func section(out, prefix string) string {
	i := strings.Index(out, "\n"+prefix)
	if !strings.HasPrefix(out, prefix) && i < 0 {
		return ""
	}
	s := out[i+1:]
	if strings.HasPrefix(out, prefix) {
		s = out
	}
	s = s[strings.Index(s, "\n")+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j+1]
	}
	return s
}

const (
	regressions = "checks runc passes that berth"
	reported    = "berth on the checks runc fails or skips"
	onlyBerth   = "checks only berth reached"
	refused     = "checks berth never reached because it refuses"
)

// runcRes is one program where runc passes two checks and fails one,
// plus a second program runc skips a check of.
const runcRes = "create: MUST create\tok\n" +
	"create: id: MUST be unique\tok\n" +
	"create: program exits 0\tfail\n" +
	"hooks: poststart gets running\tskip\n"

func TestGatePassesWhenBerthPassesWhatRuncPasses(t *testing.T) {
	berth := "create: MUST create\tok\n" +
		"create: id: MUST be unique\tok\n" +
		"create: program exits 0\tok\n" +
		"hooks: poststart gets running\tok\n"
	out, code := compare(t, runcRes, berth)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	if got := section(out, regressions); got != "  (none)\n" {
		t.Errorf("regressions: %q", got)
	}
	want := "  create: program exits 0\trunc fail, berth ok\n" +
		"  hooks: poststart gets running\trunc skip, berth ok\n"
	if got := section(out, reported); got != want {
		t.Errorf("reported section %q, want %q", got, want)
	}
}

// TestGateFailsPerCheck: each way berth can fall short of a check runc
// passes fails the gate on its own, in a program where berth fails
// nothing else.
func TestGateFailsPerCheck(t *testing.T) {
	for name, c := range map[string]struct{ berth, want string }{
		"skip": {"create: MUST create\tskip\ncreate: id: MUST be unique\tok\ncreate: program exits 0\tok\n",
			"  create: MUST create\tskip\n"},
		"not reached": {"create: MUST create\tok\ncreate: program exits 0\tok\n",
			"  create: id: MUST be unique\tnot reached\n"},
		"fail": {"create: MUST create\tok\ncreate: id: MUST be unique\tfail\ncreate: program exits 0\tok\n",
			"  create: id: MUST be unique\tfail\n"},
		"program never ran": {"", "  create: MUST create\tnot reached\n  create: id: MUST be unique\tnot reached\n"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			out, code := compare(t, runcRes, c.berth)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			if got := section(out, regressions); got != c.want {
				t.Errorf("regressions %q, want %q\n%s", got, c.want, out)
			}
		})
	}
}

// TestGateReportsWithoutGating: berth's results on checks runc fails or
// skips, and checks only berth reached, are listed but never fail the
// gate.
func TestGateReportsWithoutGating(t *testing.T) {
	berth := "create: MUST create\tok\n" +
		"create: id: MUST be unique\tok\n" +
		"create: program exits 0\tfail\n" +
		"kill: signal: MUST send\tfail\n"
	out, code := compare(t, runcRes, berth)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	want := "  create: program exits 0\trunc fail, berth fail\n" +
		"  hooks: poststart gets running\trunc skip, berth not reached\n"
	if got := section(out, reported); got != want {
		t.Errorf("reported %q, want %q", got, want)
	}
	if got := section(out, onlyBerth); got != "  kill: signal: MUST send\tberth fail\n" {
		t.Errorf("only berth %q", got)
	}
}

func TestGateBadUsage(t *testing.T) {
	out, err := exec.Command("bash", "compare.sh", "/nonexistent").CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage") {
		t.Fatalf("err %v, output %q; want exit 2 and usage", err, out)
	}
}

// TestGateRefusalsOnlyExcuseUnreachedChecks: a program listed as refused
// on purpose has its unreached checks reported, not gated; a check of it
// that berth reached and failed, and unreached checks of programs not
// listed, still fail the gate.
func TestGateRefusalsOnlyExcuseUnreachedChecks(t *testing.T) {
	list := "# comment\ncreate\tberth refuses this config\n"
	out, code := compare(t, runcRes, "hooks: poststart gets running\tok\n", list)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	want := "  create: MUST create\tberth refuses this config\n" +
		"  create: id: MUST be unique\tberth refuses this config\n"
	if got := section(out, refused); got != want {
		t.Errorf("refused %q, want %q\n%s", got, want, out)
	}
	out, code = compare(t, runcRes, "create: MUST create\tfail\n", list)
	if code != 1 || section(out, regressions) != "  create: MUST create\tfail\n" {
		t.Errorf("a reached, failed check of a refused program: exit %d\n%s", code, out)
	}
	out, code = compare(t, runcRes, "", "kill\tnot this one\n")
	if code != 1 || !strings.Contains(section(out, regressions), "create: MUST create\tnot reached") {
		t.Errorf("an unlisted program's unreached checks: exit %d\n%s", code, out)
	}
}

// The refusals the real gate reads are each documented.
func TestRefusalsAreDocumented(t *testing.T) {
	list, err := os.ReadFile("REFUSALS")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/runc-compat.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(list), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		prog, _, ok := strings.Cut(l, "\t")
		if !ok {
			t.Errorf("line %q: want program<TAB>reason", l)
		}
		if !strings.Contains(string(doc), "`"+prog+"`") {
			t.Errorf("refusal %s is not in docs/runc-compat.md", prog)
		}
	}
}
