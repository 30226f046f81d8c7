// Command berth-seccomp compiles an OCI seccomp profile (linux.seccomp,
// as JSON on stdin) into the BPF program berth-runtime loads (raw, on
// stdout). berth-runtime is built without cgo and runs it, the one
// binary linking libseccomp, only when its cache of compiled profiles
// misses. `berth-seccomp version` prints libseccomp's version.
//
// A profile the compiler refuses exits 2, any other failure 1, each with
// one line on stderr.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/seccomp"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "berth-seccomp:", strings.Join(strings.Fields(err.Error()), " "))
		return code
	}
	switch {
	case len(args) == 1 && args[0] == "version":
		fmt.Fprintln(stdout, seccomp.LibraryVersion())
		return 0
	case len(args) != 0:
		fmt.Fprintln(stderr, "usage: berth-seccomp < profile.json > filter.bpf | berth-seccomp version")
		return 1
	}
	in, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
	if err != nil {
		return fail(1, err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(in, &s); err != nil {
		return fail(seccomp.HelperExitInvalid, fmt.Errorf("decode profile: %w", err))
	}
	p, err := seccomp.Compile(&s)
	if err != nil {
		if errors.Is(err, seccomp.ErrInvalid) {
			return fail(seccomp.HelperExitInvalid, err)
		}
		return fail(1, err)
	}
	if _, err := stdout.Write(p.Filter); err != nil {
		return fail(1, err)
	}
	return 0
}
