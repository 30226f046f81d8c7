// Package version holds Berth's version, set at link time.
package version

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Version is the Berth release; the Makefile sets it from git.
var Version = "dev"

// Commit is the git commit Berth was built from; the Makefile sets it.
var Commit = ""

// OCIRuntimeSpec is the OCI runtime-spec version Berth implements: the one
// of the runtime-spec module it is built with, which is what its configs,
// states and features are written in. Everything that names a spec
// version uses this one.
var OCIRuntimeSpec = specs.Version
