#!/usr/bin/env bash
# Runs Berth's whole test suite: vet, every Go test (unit and, as root,
# integration against real namespaces, cgroups, a local registry,
# containerd and Podman), a short fuzzing pass, and the OCI runtime
# conformance suite against berth-runtime and runc. Ends with
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export GOFLAGS=${GOFLAGS:-}
# Bundles the tests write must be readable by the ids a container maps to
# (user namespaces, rootless runs), whatever umask the caller has.
umask 022
status=0
make build || exit 1
echo "== go vet"
go vet ./... || status=1
echo "== fuzz (short)"
# Counted runs (-fuzztime Nx), not timed ones: with a duration, Go's
# fuzzing coordinator can fail a target with "context deadline exceeded"
# when a busy worker misses the deadline (golang/go#75804).
go test -run '^$' -fuzz '^FuzzApply$' -fuzztime "${FUZZCOUNT:-2000x}" ./archive || status=1
go test -run '^$' -fuzz '^FuzzParseManifest$' -fuzztime "${FUZZCOUNT:-600000x}" ./manifest || status=1
go test -run '^$' -fuzz '^FuzzValidateSpec$' -fuzztime "${FUZZCOUNT:-150000x}" ./runtime || status=1
go test -run '^$' -fuzz '^FuzzNew$' -fuzztime "${FUZZCOUNT:-150000x}" ./specgen || status=1
go test -run '^$' -fuzz '^FuzzExecFlags$' -fuzztime "${FUZZCOUNT:-60000x}" ./runtime/command || status=1
go test -run '^$' -fuzz '^FuzzParsePorts$' -fuzztime "${FUZZCOUNT:-300000x}" ./network/ports || status=1
go test -run '^$' -fuzz '^FuzzParseRunFlags$' -fuzztime "${FUZZCOUNT:-200000x}" ./cli/runopts || status=1
if [ "$(id -u)" = 0 ] && [ -x conformance/run.sh ]; then
	echo "== OCI runtime conformance"
	conformance/run.sh || status=1
fi
echo "== go test"
# Packages run one at a time: integration tests check that the whole host
# is left as they found it, which only holds when nothing else runs.
go test -p 1 -count=1 -timeout 10m -json ./... | go run ./hack/summary || status=1
exit $status
