// Package version holds Berth's version, set at link time.
package version

// Version is the Berth release; the Makefile sets it from git.
var Version = "dev"

// OCIRuntimeSpec is the OCI runtime-spec version Berth implements.
const OCIRuntimeSpec = "1.2.0"
