#!/usr/bin/env bash
# bench/wake.sh — what an idle shim costs a command: `exec C true` into a
# running container whose berth-shim has gone idle (handed its
# descriptors to its idle program, docs/shim.md) against the same exec
# into one whose shim is awake, and against containerd (`ctr task exec`,
# runc) and Podman (`podman exec`, conmon + runc), in one run, on the
# same local busybox image (bench/lib.sh sets the three up).
#
# berthd runs with shim_idle_after_ms = 300. Per iteration: wait until
# the container's shim runs its idle program, time one exec (idle), then
# time a second at once (awake: the first woke it), then one with ctr
# and one with Podman. It prints the medians over ITER iterations with
# their range and the ratios berth-idle/berth-awake, berth-idle/ctr and
# berth-idle/podman.
#
# Usage: [ITER=30] bench/wake.sh. Needs root, go, containerd + ctr,
# podman, runc, /bin/busybox.
set -euo pipefail

ITER=${ITER:-30}
BENCH=wake
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
printf 'shim_idle_after_ms = 300\n' >"$WORK/berthd.toml"
BERTHD_CONFIG=$WORK/berthd.toml
bench_setup

"${B[@]}" run -d --network none --name wake "$IMAGE" sleep 1000000 >/dev/null
"${C[@]}" run -d "$IMAGE" wake sleep 1000000 >/dev/null
podman_cmd run -d --name wake --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" sleep 1000000 >/dev/null
SHIM=$(jq -r .shim_pid "$WORK"/berth/state/s/*/shim.json)

idle() { [[ $(tr '\0' ' ' <"/proc/$SHIM/cmdline") == "berth-shim idle "* ]]; }
await_idle() {
	local i
	for ((i = 0; i < 300; i++)); do idle && return 0; sleep 0.05; done
	echo "wake: the shim did not go idle" >&2
	exit 1
}
# timed VAR CMD...: append CMD's wall time in ms to the array VAR.
timed() {
	local -n out=$1
	shift
	now; local t0=$NOW
	"$@" >/dev/null
	now; out+=("$(awk -v d=$((NOW - t0)) 'BEGIN {printf "%.2f", d / 1e6}')")
}

IDLE=() AWAKE=() CTR=() PODMAN=()
echo "== $ITER iterations"
for ((i = 0; i < ITER; i++)); do
	await_idle
	timed IDLE "${B[@]}" exec wake true
	idle && { echo "wake: the shim is still idle after an exec" >&2; exit 1; }
	timed AWAKE "${B[@]}" exec wake true
	timed CTR "${C[@]}" task exec --exec-id "e$i" wake true
	timed PODMAN podman_cmd exec wake true
done

echo
echo "== exec C true, ms: median [min-max] over $ITER"
declare -A MED
for s in IDLE AWAKE CTR PODMAN; do
	declare -n a=$s
	read -r m lo hi <<<"$(median_range "${a[@]}")"
	MED[$s]=$m
	printf '%-12s %7.2f [%.2f-%.2f]\n' "$(tr 'A-Z' 'a-z' <<<"$s")" "$m" "$lo" "$hi"
done
awk -v i="${MED[IDLE]}" -v a="${MED[AWAKE]}" -v c="${MED[CTR]}" -v p="${MED[PODMAN]}" 'BEGIN {
	printf "berth idle/awake   %.2f (+%.2f ms)\n", i / a, i - a
	printf "berth idle/ctr     %.2f\n", i / c
	printf "berth idle/podman  %.2f\n", i / p
}'
