#!/usr/bin/env bash
# `run --rm IMAGE true`, side by side in one run: berth (berthd +
# berth-shim + berth-runtime) against containerd (`ctr run --rm`, runc),
# Podman (`podman run --rm`, conmon + runc) and, where dockerd is
# installed, Docker (`docker run --rm` on a private dockerd; otherwise it
# says Docker was skipped), all on the same local busybox image made from
# /bin/busybox, none with a network.
#
# Each round times ITER runs per system (interleaved: berth, ctr, podman,
# docker, berth, ...) and takes each system's median; the report gives the
# median of those over ROUNDS rounds, their range, and the ratios of berth
# to each. Each daemon runs on its own root, state and socket under one
# temporary directory, with HTTP(S)_PROXY pointing at a dead loopback
# port; everything is stopped by PID and removed at exit (bench/lib.sh).
#
# Usage: [ROUNDS=3] [ITER=15] bench/run.sh
# Needs root, go, containerd + ctr, podman, runc, /bin/busybox; dockerd
# (Debian's docker.io) is optional.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
ITER=${ITER:-15}
BENCH=run
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup
docker_setup
SYSTEMS="berth ctr podman"
[ ${#D[@]} -gt 0 ] && SYSTEMS+=" docker"

# --network none: berth's default is the bridge network now, and ctr run
# (and podman here) set up no network; this compares container starts.
run_berth() { "${B[@]}" run --rm --network none "$IMAGE" true; }
run_ctr() { "${C[@]}" run --rm "$IMAGE" "bench-$1" true; }
run_docker() { "${D[@]}" run --rm --network none "$IMAGE" true; }
run_podman() {
	podman_cmd run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" true
}

# one warm-up each: caches, first snapshot preparation
run_berth && run_ctr warm && run_podman && { [ ${#D[@]} = 0 ] || run_docker; }

declare -A RES NAME=([berth]=berth [ctr]=containerd [podman]=podman [docker]=docker)
for r in $(seq "$ROUNDS"); do
	declare -A T=()
	for i in $(seq "$ITER"); do
		for s in $SYSTEMS; do
			now && t0=$NOW
			"run_$s" "$r-$i" >/dev/null
			now && T[$s]+="$((NOW - t0)) "
		done
	done
	line="round $r:"
	for s in $SYSTEMS; do
		m=$(echo "${T[$s]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
		RES[$s]+="$m "
		line+=" ${NAME[$s]} $(awk -v m="$m" 'BEGIN {printf "%.1f", m/1e6}') ms,"
	done
	echo "${line%,}"
done

args=()
for s in $SYSTEMS; do args+=("${NAME[$s]}" "${RES[$s]}"); done
python3 - "${args[@]}" <<'PY'
import statistics, sys
res = {n: [float(x) / 1e6 for x in v.split()] for n, v in zip(sys.argv[1::2], sys.argv[2::2])}
def fmt(xs): return f"{statistics.median(xs):.1f} ms [{min(xs):.1f}-{max(xs):.1f}]"
print(f"\nrun --rm IMAGE true, median over {len(res['berth'])} rounds of per-round medians [range]")
for n, xs in res.items():
    print(f"  {n:11} {fmt(xs)}")
for n, xs in res.items():
    if n != "berth":
        r = [x / y for x, y in zip(res["berth"], xs)]
        print(f"  {'berth/' + n:17} {statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]")
PY
