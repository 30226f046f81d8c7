package runopts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/berth-dev/berth/errdefs"
)

// lookupEnv reads the client's environment for `-e K`; a variable
// that is not set is left out, as Docker does.
var lookupEnv = os.LookupEnv

// keyValues reads the files of --<flag>-file, then the values of
// --<flag>, as "K=V" strings. A bare "K" takes lookup's value (and is
// dropped when lookup has none) or, with a nil lookup, stays "K".
func keyValues(flag string, files, values []string, lookup func(string) (string, bool)) ([]string, error) {
	var all, out []string
	for _, f := range files {
		lines, err := readKVFile(flag+"-file", f)
		if err != nil {
			return nil, err
		}
		all = append(all, lines...)
	}
	for _, kv := range append(all, values...) {
		k, _, hasValue := strings.Cut(kv, "=")
		switch {
		case k == "" || strings.ContainsAny(k, " \t\n\x00"):
			return nil, flagError(flag, kv, "want KEY=VALUE or KEY")
		case strings.IndexByte(kv, 0) >= 0:
			return nil, flagError(flag, kv, "NUL in value")
		case hasValue || lookup == nil:
			out = append(out, kv)
		default:
			if v, ok := lookup(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	return out, nil
}

// maxKVFile bounds an env or label file.
const maxKVFile = 16 << 20

// readKVFile reads a file in Docker's env-file format: one KEY=VALUE or
// KEY per line, leading white space ignored, "#" comments and blank
// lines skipped, the value kept as written (no quotes removed).
func readKVFile(flag, name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, flagError(flag, name, "%v", unwrapPath(err))
	}
	defer f.Close()
	// A pipe (`--env-file <(cmd)`) is fine; /dev/zero is not.
	data, err := io.ReadAll(io.LimitReader(f, maxKVFile+1))
	if err != nil {
		return nil, flagError(flag, name, "%v", unwrapPath(err))
	}
	if len(data) > maxKVFile {
		return nil, flagError(flag, name, "larger than %d bytes", maxKVFile)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, flagError(flag, name, "line %d is not UTF-8", n)
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, flagError(flag, name, "line %d: bad variable name %q", n, k)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, flagError(flag, name, "%v", err)
	}
	return lines, nil
}

// unwrapPath drops the *os.PathError's repeat of the file name.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// cutKV splits "K=V" (V is "" for a bare "K").
func cutKV(s string) (k, v string, ok bool) { return strings.Cut(s, "=") }

// The flags' patterns are compiled when a flag first needs one: every
// berth command pays for what its package variables compile.
var (
	nameRE     = lazyRE(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	hostnameRE = lazyRE(`^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)
	userPartRE = lazyRE(`^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*\$?$`)
	runtimeRE  = lazyRE(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$`)
)

// lazyRE returns expr compiled at its first use.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// validName reports whether s follows Docker's rule for container and
// volume names.
func validName(s string) bool { return nameRE().MatchString(s) }

// validHostname accepts an RFC 1123 host name of at most 64 bytes
// (HOST_NAME_MAX).
func validHostname(s string) bool { return len(s) <= 64 && hostnameRE().MatchString(s) }

// validUser accepts "name", "uid", "name:group" and "uid:gid".
func validUser(s string) bool {
	u, g, hasGroup := strings.Cut(s, ":")
	return userPartRE().MatchString(u) && (!hasGroup || userPartRE().MatchString(g))
}

func validRuntime(s string) bool { return len(s) <= 128 && runtimeRE().MatchString(s) }

// errNotSupported is for forms Docker accepts that Berth does not.
func errNotSupported(flag, value, what string) error {
	return fmt.Errorf("--%s %q: %s is not supported: %w", flag, value, what, errdefs.ErrNotImplemented)
}
