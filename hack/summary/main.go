// Command summary reads `go test -json` output on stdin, prints each
// package's result as go test would, the output of every failed test, and
// a closing line "N passed, N failed, N skipped". It exits 1 if anything
// failed.
//
// A package that fails with no failing test (a build error, a panic in
// TestMain, a timeout) counts as one failure, and so does each line of
// $BERTH_FAILED_STEPS: the steps of the test run before go test (vet, a
// fuzz target, the conformance suite). Both are named above the closing
// line, so the last lines of a run always say what failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	out := map[string]*strings.Builder{} // package/test -> output
	var passed, failed, skipped int
	var failedNames []string
	var pkgFailed []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil {
			fmt.Println(string(line)) // build errors and the like
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if out[key] == nil {
				out[key] = &strings.Builder{}
			}
			out[key].WriteString(e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") || strings.HasPrefix(e.Output, "?")) {
				fmt.Print(e.Output)
			}
		case "pass":
			if e.Test != "" {
				passed++
			}
		case "skip":
			if e.Test != "" {
				skipped++
			}
		case "fail":
			if e.Test != "" {
				failed++
				failedNames = append(failedNames, key)
			} else {
				pkgFailed = append(pkgFailed, e.Package)
				if o := out[key]; o != nil && !strings.Contains(o.String(), "--- FAIL") {
					fmt.Print(o.String())
				}
			}
		}
	}
	sort.Strings(failedNames)
	for _, k := range failedNames {
		fmt.Printf("\n=== failed: %s\n%s", k, out[k])
	}
	// Packages whose failure no test accounts for, then earlier steps.
	var other []string
	for _, p := range pkgFailed {
		if !hasPrefixIn(failedNames, p+" ") {
			other = append(other, "package "+p)
		}
	}
	for _, s := range strings.Split(os.Getenv("BERTH_FAILED_STEPS"), "\n") {
		if s = strings.TrimSpace(s); s != "" {
			other = append(other, s)
		}
	}
	if len(other) > 0 {
		fmt.Println()
	}
	for _, s := range other {
		fmt.Printf("=== failed: %s\n", s)
	}
	failed += len(other)
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		os.Exit(1)
	}
}

// hasPrefixIn reports whether any of names starts with prefix.
func hasPrefixIn(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}
