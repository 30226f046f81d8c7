#!/usr/bin/env bash
# bench/cri-pods.sh — pods through the CRI, side by side in one run:
# containerd 1.6 (Debian's, its CRI plugin, runc) and berthd (its CRI
# server, when this build has one: berthd --cri-address).
#
# Each round starts each daemon fresh (private root, state and socket,
# CNI bridge on its own subnet, no masquerade, HTTP(S)_PROXY at a dead
# loopback port, images from a loopback registry through hosts.toml
# mirrors, as conformance/critest.sh sets them up), pre-pulls the image,
# then the Go driver bench/cripods starts PODS pods, each with one web
# server container (busybox httpd from critest's busybox stand-in), with
# PARALLEL requests in flight (RunPodSandbox, CreateContainer,
# StartContainer, then ContainerStatus until Running), and reports:
#   first, last  seconds to the first and the last container Running
#   peak RSS/PSS the largest sums, sampled every 200 ms during the start
#                and once 2 s after it, over the daemon, its shims and
#                pause processes (not the web servers themselves)
#   settled PSS  the same sum 2 s after the last container runs
#   CPU          CPU seconds of those processes and the children they
#                reaped (runc, CNI plugins) during the start
#   shims, shim PSS per pod  the shim processes (berth-shim,
#                containerd-shim-runc-v2) in the settled sample, and their
#                PSS summed and divided by the pods, in kB
#   daemon PSS   the daemon's own part of the settled PSS
#   later PSS, later shim PSS per pod  the settled PSS and shim PSS per
#                pod again LATER (default 15s) after the settled sample:
#                berth-shims with nothing to do go idle after 10 s
#                (docs/shim.md, "Idle"); LATER=0 skips it
#   stage_ms     (in each round's JSON line) each step's mean latency
# The pods are then removed through the CRI and the daemon stopped.
# Each daemon's state directory (bundles, runtime state, sockets) is on a
# tmpfs, as their defaults /run/containerd and /run/berth are, and as
# containerd's runc state (/run/containerd/runc) always is; STATE_ON_DISK=1
# keeps both under the work directory on disk instead.
# The report gives the median over ROUNDS with its range [min-max] and the
# ratios berthd/containerd (< 1: berthd uses less).
#
# Usage: sudo [ROUNDS=3] [PODS=105] [PARALLEL=10] [LATER=15s] [BERTHD=path] bench/cri-pods.sh
# (BERTHD: a berthd with its shim, runtime and pause binary beside it;
# default <repo>/bin/berthd after make build)
# Needs root, go, jq, containerd, runc, docker-registry, /bin/busybox,
# containernetworking-plugins. Runs under the shared lock:
#   flock /tmp/berth-itest.lock bench/cri-pods.sh
set -euo pipefail

ROUNDS=${ROUNDS:-3}
PODS=${PODS:-105}
PARALLEL=${PARALLEL:-10}
REPO=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${CRI_TOOLS_BIN:-$REPO/.cache/cri-tools/bin}
IMAGE=registry.k8s.io/e2e-test-images/busybox:1.29-2
[[ $(id -u) == 0 ]] || { echo "cri-pods.sh: must run as root" >&2; exit 1; }
for t in containerd docker-registry jq go; do
	command -v "$t" >/dev/null || { echo "cri-pods.sh: $t not installed" >&2; exit 1; }
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $PODS =~ ^[1-9][0-9]*$ && $PARALLEL =~ ^[1-9][0-9]*$ ]] ||
	{ echo "cri-pods.sh: ROUNDS, PODS and PARALLEL must be positive integers" >&2; exit 2; }
((PODS <= 250)) || { echo "cri-pods.sh: PODS must be at most 250 (one /24 per daemon)" >&2; exit 2; }

BERTHD=${BERTHD:-}
if [[ -z $BERTHD ]]; then
	(cd "$REPO" && make build >/dev/null)
	BERTHD=$REPO/bin/berthd
fi
"$REPO/hack/cri-tools.sh" "$TOOLS" >/dev/null
WORK=$(mktemp -d /tmp/berth-bench-cripods-XXXXXX)
BASE=$WORK
chmod 755 "$WORK"
PIDS=()
BRIDGE=
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=
# shellcheck source=conformance/critest-lib.sh
. "$REPO/conformance/critest-lib.sh"
# A round runs with WORK set to its own directory; cleaning up from the
# base directory also finds the round's processes (their arguments are
# under it) and its mounts.
cleanup() { WORK=$BASE; critest_cleanup; }
trap cleanup EXIT
snapshot_host

SYSTEMS=(containerd)
if berthd_has_cri; then
	SYSTEMS+=(berthd)
else
	echo "== berthd has no --cri-address (its CRI server is not merged yet): containerd only"
fi
(cd "$REPO" && gotool build -o "$WORK/cripods" ./bench/cripods)
echo "== images: critest's stand-ins in a loopback registry"
start_registry
push_images >/dev/null
write_mirrors

# one SYSTEM ROUND: a fresh daemon, the driver's run, then the pods
# removed and the daemon stopped; appends the driver's JSON to
# WORK/SYSTEM.json.
one() {
	local sys=$1 r=$2
	WORK=$BASE/$sys-$r
	mkdir -p "$WORK"
	BRIDGE=cp$r${sys:0:1}$$
	# Each daemon's state directory on a tmpfs of its own, as both keep it
	# by default (/run/containerd, /run/berth); its root stays on disk.
	# containerd's runc state is always under /run/containerd/runc.
	if [[ -z ${STATE_ON_DISK:-} ]]; then
		local st=$WORK/containerd/state
		[[ $sys == berthd ]] && st=$WORK/berth/state
		mkdir -p "$st"
		mount -t tmpfs -o mode=0711 tmpfs "$st"
	fi
	case $sys in
	containerd) SUBNET=10.209.0.0/24; start_containerd >/dev/null; PULL=registry.k8s.io/pause:3.9 ;;
	berthd) SUBNET=10.210.0.0/24; start_berthd >/dev/null; PULL= ;;
	esac
	echo "== round $r: $sys: $PODS pods, $PARALLEL in flight"
	"$BASE/cripods" -endpoint "$ENDPOINT" -daemon-pid "$DAEMON_PID" -owner "$WORK" -image "$IMAGE" \
		${PULL:+-pull "$PULL"} -pods "$PODS" -parallel "$PARALLEL" -later "${LATER:-15s}" | tee -a "$BASE/$sys.json"
	"$BASE/cripods" -endpoint "$ENDPOINT" -remove || echo "cri-pods.sh: $sys: removing pods failed" >&2
	stop_daemon
	# (no mount left is the usual case: grep finding none is no error)
	{ grep -F " $WORK/" /proc/self/mountinfo || true; } | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
	drop_bridge_rules "$BRIDGE" # the daemon's rules for it outlive the bridge
	ENDPOINT=
	rm -rf "$WORK"
	WORK=$BASE
}

for r in $(seq "$ROUNDS"); do
	for sys in "${SYSTEMS[@]}"; do one "$sys" "$r"; done
done
BRIDGE=none

median_range() {
	printf '%s\n' "$@" | grep . | sort -g | awk '{a[NR]=$1} END {printf "%.2f [%.2f-%.2f]", (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2, a[1], a[NR]}'
}
echo
echo "== $PODS pods, $PARALLEL in flight, median over $ROUNDS rounds [min-max]"
printf '%-20s' ""
for sys in "${SYSTEMS[@]}"; do printf '%-26s' "$sys"; done
[[ ${#SYSTEMS[@]} == 2 ]] && printf 'berthd/containerd'
echo
for f in first_running_s last_running_s peak_rss_mib peak_pss_mib settled_pss_mib cpu_s settled_shims shim_pss_kb_per_pod daemon_pss_mib later_pss_mib later_shim_pss_kb_per_pod; do
	printf '%-20s' "$f"
	for sys in "${SYSTEMS[@]}"; do
		mapfile -t v < <(jq -r ".$f" "$WORK/$sys.json")
		printf '%-26s' "$(median_range "${v[@]}")"
	done
	if [[ ${#SYSTEMS[@]} == 2 ]]; then
		# per-round ratios, then their median and range
		mapfile -t a < <(jq -r ".$f" "$WORK/berthd.json")
		mapfile -t b < <(jq -r ".$f" "$WORK/containerd.json")
		ratios=()
		for i in "${!a[@]}"; do ratios+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN {printf "%.3f", (y > 0) ? x / y : 0}')"); done
		printf '%s' "$(median_range "${ratios[@]}")"
	fi
	echo
done
