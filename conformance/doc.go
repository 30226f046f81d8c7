// Package conformance holds no Go code: run.sh runs the OCI
// runtime-tools validation suite against runc and berth-runtime, and
// compare.sh, the gate, compares them per check. The package's tests
// exercise compare.sh on canned results. critest.sh runs the CRI
// validation suite (critest) against containerd or berthd, with the
// stand-in images of ./critestimages.
package conformance
