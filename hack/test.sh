#!/usr/bin/env bash
# Runs Berth's whole test suite: vet, every Go test (unit and, as root,
# integration against real namespaces, cgroups, a local registry,
# containerd and Podman), a short fuzzing pass, the OCI runtime
# conformance suite against berth-runtime and runc, and the CRI validation
# suite (critest) against berthd once berthd serves the CRI. Ends with
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export GOFLAGS=${GOFLAGS:-}
# Bundles the tests write must be readable by the ids a container maps to
# (user namespaces, rootless runs), whatever umask the caller has.
umask 022
# Steps that fail before go test are named in its closing summary
# (BERTH_FAILED_STEPS), so the last lines of a run say what failed.
failed_steps=""
fail() { failed_steps+="$1"$'\n'; echo "== FAILED: $1"; }
fuzz() { # target package count
	go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZCOUNT:-$3}" "$2" || fail "fuzz $1 ($2)"
}
make build || exit 1
echo "== go vet"
go vet ./... || fail "go vet"
echo "== go test: what berth-runtime and berth-init link, as the Makefile builds them (GOEXPERIMENT=jsonv2)"
GOEXPERIMENT=jsonv2 go test -count=1 ./runtime/... ./rootfs/... ./seccomp/load/... || fail "go test with GOEXPERIMENT=jsonv2"
echo "== fuzz (short)"
# Counted runs (-fuzztime Nx), not timed ones: with a duration, Go's
# fuzzing coordinator can fail a target with "context deadline exceeded"
# when a busy worker misses the deadline (golang/go#75804).
fuzz FuzzApply ./archive 2000x
fuzz FuzzParseManifest ./manifest 600000x
fuzz FuzzValidateSpec ./runtime 150000x
fuzz FuzzNew ./specgen 150000x
fuzz FuzzExecFlags ./runtime/command 60000x
fuzz FuzzParsePorts ./network/ports 300000x
fuzz FuzzParseRunFlags ./cli/runopts 200000x
if [ "$(id -u)" = 0 ] && [ -x conformance/run.sh ]; then
	echo "== OCI runtime conformance"
	conformance/run.sh || fail "OCI runtime conformance (conformance/run.sh)"
fi
echo "== CRI tools: crictl and critest (hack/cri-tools.sh)"
# Kept outside the clone, so that later runs on this machine reuse them.
export CRI_TOOLS_BIN=${CRI_TOOLS_BIN:-/tmp/berth-test-cri-tools/bin}
hack/cri-tools.sh "$CRI_TOOLS_BIN" || fail "build crictl and critest (hack/cri-tools.sh)"
if [ "$(id -u)" = 0 ] && [ -x "$CRI_TOOLS_BIN/critest" ]; then
	if bin/berthd --help 2>&1 | grep -q -- --cri-address; then
		echo "== CRI validation: critest against berthd"
		conformance/critest.sh --berthd || fail "critest against berthd (conformance/critest.sh --berthd)"
	else
		echo "== CRI validation: SKIPPED: this berthd has no --cri-address (its CRI server is not merged yet)"
	fi
fi
echo "== go test"
# Packages run one at a time: integration tests check that the whole host
# is left as they found it, which only holds when nothing else runs.
go test -p 1 -count=1 -timeout 10m -json ./... | BERTH_FAILED_STEPS=$failed_steps go run ./hack/summary
