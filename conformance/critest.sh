#!/usr/bin/env bash
# conformance/critest.sh — run the CRI validation suite (critest of
# kubernetes-sigs/cri-tools) against a CRI endpoint, offline.
#
#   sudo conformance/critest.sh --containerd      # a private containerd 1.6 (Debian's, CRI plugin)
#   sudo conformance/critest.sh --berthd          # a private berthd serving the CRI (--cri-address)
#   sudo conformance/critest.sh unix:///run/x.sock  # an endpoint already running
#
# critest pulls its test images from registry.k8s.io and gcr.io. This
# script builds stand-ins from the host's busybox-static (and a static
# helper, conformance/critestimages/testbin, for nginx, httpd and
# nonewprivs), pushes them to a loopback docker-registry and writes
# hosts.toml mirror files that send registry.k8s.io, k8s.gcr.io and gcr.io
# there (`go run ./conformance/critestimages -list` lists every image and
# what cannot be provided). A daemon this script starts uses those mirror
# files; an ENDPOINT given must be configured with them by its owner
# (MIRRORS_ONLY=1 prints a directory of them and exits).
#
# A daemon started here has a private root, state and socket under one
# temporary directory, HTTP(S)_PROXY pointing at a dead loopback port, and
# CNI on a bridge of its own on SUBNET (default 10.207.0.0/24; no
# masquerade). containerd gets restrict_oom_score_adj = true, the stand-in
# pause image as its sandbox image and opt/CNI paths in the work
# directory. berthd gets --cri-address; without that flag (the CRI server
# not merged yet) the script says so and exits 77.
#
# Environment: CRI_TOOLS_BIN (crictl and critest, built by
# hack/cri-tools.sh when missing; default <repo>/.cache/cri-tools/bin),
# BERTHD (a berthd binary with berth-shim, berth-runtime and its pause
# binary beside it; default <repo>/bin/berthd after make build),
# SKIP (extra -ginkgo.skip regexp), FOCUS (a -ginkgo.focus regexp),
# SUBNET, KEEP=1 to keep the work directory, KNOWN_FAILURES (a file of
# full spec names, one a line, whose failure does not fail the run; for
# --berthd default conformance/critest-known-failures-berthd). Prints the
# counts, every failed and skipped spec, and exits 1 when a spec failed
# that is not listed there. At exit
# every pod is removed through the CRI, the daemon stopped by PID, its
# shims (found by their socket path under the work directory) killed, and
# the netns, cgroups, bridge and iptables chains this run made removed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${CRI_TOOLS_BIN:-$REPO/.cache/cri-tools/bin}
SUBNET=${SUBNET:-10.207.0.0/24}
BRIDGE=crit$$
MODE=""
ENDPOINT=""
case ${1:-} in
--containerd | --berthd) MODE=${1#--} ;;
unix://*) MODE=endpoint ENDPOINT=$1 ;;
-h | --help) sed -n '2,40p' "$0"; exit 0 ;;
*) echo "critest.sh: want --containerd, --berthd or a unix:// endpoint (got '${1:-}')" >&2; exit 2 ;;
esac
[[ $(id -u) == 0 ]] || { echo "critest.sh: must run as root" >&2; exit 1; }
for t in docker-registry jq go iptables; do
	command -v "$t" >/dev/null || { echo "critest.sh: $t not installed" >&2; exit 1; }
done
[[ -x /bin/busybox ]] || { echo "critest.sh: /bin/busybox (busybox-static) not found" >&2; exit 1; }
BERTHD=${BERTHD:-}
if [[ $MODE == berthd ]]; then
	if [[ -z $BERTHD ]]; then
		(cd "$REPO" && make build >/dev/null)
		BERTHD=$REPO/bin/berthd
	fi
	if ! "$BERTHD" --help 2>&1 | grep -q -- --cri-address; then
		echo "critest.sh: SKIP: berthd has no --cri-address flag (its CRI server is not merged yet): nothing to test"
		exit 77
	fi
fi
[[ $MODE != containerd ]] || command -v containerd >/dev/null || { echo "critest.sh: containerd not installed" >&2; exit 1; }

"$REPO/hack/cri-tools.sh" "$TOOLS" >/dev/null
WORK=$(mktemp -d /tmp/berth-test-critest-XXXXXX)
chmod 755 "$WORK"
PIDS=()
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=

# shellcheck source=conformance/critest-lib.sh
. "$REPO/conformance/critest-lib.sh"
trap critest_cleanup EXIT
snapshot_host

echo "# images: building stand-ins and a loopback registry"
start_registry
push_images
write_mirrors
if [[ ${MIRRORS_ONLY:-0} == 1 ]]; then
	KEEP=1
	echo "# mirror files for 127.0.0.1:$REG_PORT in $CERTS (stop the registry, PID ${PIDS[0]}, when done)"
	trap - EXIT
	exit 0
fi

case $MODE in
containerd) start_containerd ;;
berthd)
	start_berthd
	KNOWN_FAILURES=${KNOWN_FAILURES-$REPO/conformance/critest-known-failures-berthd}
	;;
esac
echo "# critest $(cat "$TOOLS/.version") against $ENDPOINT"
skips=("public image with digest should be pulled and removed")
[[ -n ${SKIP:-} ]] && skips+=("$SKIP")
args=(-runtime-endpoint "$ENDPOINT" -image-endpoint "$ENDPOINT" -ginkgo.no-color
	-ginkgo.json-report "$WORK/report.json" -ginkgo.timeout 2h)
for s in "${skips[@]}"; do args+=(-ginkgo.skip "$s"); done
[[ -n ${FOCUS:-} ]] && args+=(-ginkgo.focus "$FOCUS")
# critest fetches pages from pod IPs and 127.0.0.1 itself: no proxy.
rc=0
(cd "$WORK" && env -u HTTP_PROXY -u HTTPS_PROXY "$TOOLS/critest" "${args[@]}") >"$WORK/critest.log" 2>&1 || rc=$?
report "$WORK/report.json" "$rc"
