#!/usr/bin/env bash
# The same Docker CLI against berthd's Docker API and against dockerd
# (Debian's docker.io), side by side in one run, on the same local busybox
# image, none with a network:
#
#   run-rm    `docker run --rm --network none IMAGE true`
#   detached  DETACHED x `docker run -d --network none IMAGE sleep 1000`,
#             timed as a whole (then removed, untimed)
#
# Each round times ITER run-rm per system (interleaved) and one detached
# batch per system, and takes each system's median; the report gives the
# median over ROUNDS rounds, the range, and the ratio berth/docker. Both
# daemons run on their own root, state and socket under one temporary
# directory with HTTP(S)_PROXY pointing at a dead loopback port, and are
# stopped by PID and removed at exit (bench/lib.sh).
#
# Usage: [ROUNDS=3] [ITER=10] [DETACHED=50] bench/docker-run.sh
# Needs root, go, containerd + ctr, podman, runc, /bin/busybox, dockerd
# (apt-get install docker.io) and the Docker CLI.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
ITER=${ITER:-10}
DETACHED=${DETACHED:-50}
BENCH=dockerrun
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup
docker_setup
[ ${#D[@]} -gt 0 ] || { echo "dockerd is needed (apt-get install docker.io)" >&2; exit 1; }
BD=("${D[0]}" -H "unix://$WORK/berth/state/docker.sock")
for _ in $(seq 100); do "${BD[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
declare -A CLI=([berth]="${BD[*]}" [docker]="${D[*]}")

run_rm() { ${CLI[$1]} run --rm --network none "$IMAGE" true >/dev/null; }
detached() {
	local i
	for i in $(seq "$DETACHED"); do ${CLI[$1]} run -d --network none "$IMAGE" sleep 1000 >/dev/null; done
}
remove_all() {
	local ids
	ids=$(${CLI[$1]} ps -aq)
	[ -z "$ids" ] || ${CLI[$1]} rm -f $ids >/dev/null
}

run_rm berth && run_rm docker # warm-up

declare -A RM DET
for r in $(seq "$ROUNDS"); do
	declare -A T=()
	for _ in $(seq "$ITER"); do
		for s in berth docker; do
			t0=$(now_ns)
			run_rm "$s"
			T[$s]+="$(($(now_ns) - t0)) "
		done
	done
	line="round $r:"
	for s in berth docker; do
		read -r m _ _ <<<"$(median_range ${T[$s]})"
		RM[$s]+="$m "
		t0=$(now_ns)
		detached "$s"
		d=$(($(now_ns) - t0))
		remove_all "$s"
		DET[$s]+="$d "
		line+=" $s run-rm $(awk -v m="$m" 'BEGIN {printf "%.1f", m/1e6}') ms, $DETACHED detached $(awk -v m="$d" 'BEGIN {printf "%.2f", m/1e9}') s;"
	done
	echo "${line%;}"
done

python3 - "${RM[berth]}" "${RM[docker]}" "${DET[berth]}" "${DET[docker]}" "$DETACHED" <<'PY'
import statistics, sys
rb, rd, db, dd = ([float(x) for x in a.split()] for a in sys.argv[1:5])
def fmt(xs, unit, div): return f"{statistics.median(xs)/div:.2f} {unit} [{min(xs)/div:.2f}-{max(xs)/div:.2f}]"
def ratio(a, b):
    r = [x / y for x, y in zip(a, b)]
    return f"{statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]"
print(f"\nthe Docker CLI against berthd and dockerd, medians over {len(rb)} rounds [range]")
print(f"  run --rm IMAGE true   berth {fmt(rb, 'ms', 1e6)}  docker {fmt(rd, 'ms', 1e6)}  berth/docker {ratio(rb, rd)}")
print(f"  {sys.argv[5]} x run -d          berth {fmt(db, 's', 1e9)}  docker {fmt(dd, 's', 1e9)}  berth/docker {ratio(db, dd)}")
PY
