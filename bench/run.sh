#!/usr/bin/env bash
# `run --rm IMAGE true`, side by side in one run: berth (berthd +
# berth-shim + berth-runtime) against containerd (`ctr run --rm`, runc)
# and Podman (`podman run --rm`, conmon + runc), all on the same local
# busybox image made from /bin/busybox, none with a network.
#
# Each round times ITER runs per system (interleaved: berth, ctr, podman,
# berth, ...) and takes each system's median; the report gives the median
# of those over ROUNDS rounds, their range, and the ratios berth/containerd
# and berth/podman. Each daemon runs on its own root, state and socket
# under one temporary directory, with HTTP(S)_PROXY pointing at a dead
# loopback port; everything is stopped by PID and removed at exit.
#
# Usage: [ROUNDS=3] [ITER=15] bench/run.sh
# Needs root, go, containerd + ctr, podman, runc, /bin/busybox.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
ITER=${ITER:-15}
BENCH=run
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup

run_berth() { "${B[@]}" run --rm "$IMAGE" true; }
run_ctr() { "${C[@]}" run --rm "$IMAGE" "bench-$1" true; }
run_podman() {
	podman_cmd run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" true
}

# one warm-up each: caches, first snapshot preparation
run_berth && run_ctr warm && run_podman

declare -A RES
for r in $(seq "$ROUNDS"); do
	declare -A T=([berth]="" [ctr]="" [podman]="")
	for i in $(seq "$ITER"); do
		for s in berth ctr podman; do
			t0=$(now_ns)
			"run_$s" "$r-$i" >/dev/null
			T[$s]+="$(($(now_ns) - t0)) "
		done
	done
	for s in berth ctr podman; do
		m=$(echo "${T[$s]}" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
		RES[$s]+="$m "
	done
	echo "round $r: berth $(echo "${RES[berth]}" | awk '{printf "%.1f", $NF/1e6}') ms, containerd $(echo "${RES[ctr]}" | awk '{printf "%.1f", $NF/1e6}') ms, podman $(echo "${RES[podman]}" | awk '{printf "%.1f", $NF/1e6}') ms"
done

python3 - "${RES[berth]}" "${RES[ctr]}" "${RES[podman]}" <<'PY'
import statistics, sys
b, c, p = ([float(x) / 1e6 for x in a.split()] for a in sys.argv[1:4])
def fmt(xs): return f"{statistics.median(xs):.1f} ms [{min(xs):.1f}-{max(xs):.1f}]"
print(f"\nrun --rm IMAGE true, median over {len(b)} rounds of per-round medians [range]")
print(f"  berth       {fmt(b)}")
print(f"  containerd  {fmt(c)}")
print(f"  podman      {fmt(p)}")
rc = [x / y for x, y in zip(b, c)]
rp = [x / y for x, y in zip(b, p)]
print(f"  berth/containerd {statistics.median(rc):.2f} [{min(rc):.2f}-{max(rc):.2f}]")
print(f"  berth/podman     {statistics.median(rp):.2f} [{min(rp):.2f}-{max(rp):.2f}]")
PY
