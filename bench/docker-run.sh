#!/usr/bin/env bash
# The same Docker CLI against three Docker API servers, side by side in one
# run, on the same local busybox image:
#
#   berth   berthd's Docker API (<state>/docker.sock)
#   docker  a private dockerd (Debian's docker.io; containerd + runc)
#   podman  a private `podman system service` (conmon + runc)
#
# Two workloads, every run with `--network none` on all three, so that what
# is compared is the run path, not network setup:
#
#   run-rm    `docker run --rm --network none IMAGE true`
#   detached  DETACHED x `docker run -d --network none IMAGE sleep 1000`,
#             one after another, timed from the first start to the last
#             one's return (then all removed, untimed)
#
# Each round times ITER run-rm per system (interleaved) and one detached
# batch per system, the order of the systems rotating from round to round,
# and takes each system's run-rm median; the report gives the median over
# ROUNDS rounds, the range [min-max], and the per-round ratios berth/docker
# and berth/podman (median [min-max]; < 1 means berth is faster).
#
# Every daemon runs on its own root, state and socket under one temporary
# directory with HTTP(S)_PROXY pointing at a dead loopback port (bench/lib.sh
# with BERTHD_ONLY=1: berthd without containerd). The image is made
# from /bin/busybox, loaded into berthd from an OCI archive, and into
# dockerd and the Podman service from the docker-archive `berth save` writes,
# through the Docker CLI. Podman's service reads a private containers.conf
# (CONTAINERS_CONF): cgroupfs (no systemd here), runc (crun refuses this
# machine's hybrid cgroup v1 layout), events to a file, and nofile/nproc
# ulimits of 1024 (root here lacks CAP_SYS_RESOURCE and cannot raise them
# to Podman's defaults). At exit, also on failure, every
# container is removed, every daemon stopped by PID, stray processes of the
# run (an argument under its directory) killed by PID, mounts under the
# directory unmounted, the cgroups the run made removed by path, and the
# directory removed.
#
# Usage: [ROUNDS=5] [ITER=10] [DETACHED=50] bench/docker-run.sh
# Needs root, go, podman, runc, /bin/busybox, dockerd
# (apt-get install docker.io) and the Docker CLI.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
ITER=${ITER:-10}
DETACHED=${DETACHED:-50}
SETTLE=${SETTLE:-2} # seconds of quiet after each removal
BENCH=dockerrun
BERTHD_ONLY=1
PD=() # the Docker CLI against the Podman service, once it runs
command -v dockerd >/dev/null || { echo "dockerd is needed (apt-get install docker.io)" >&2; exit 1; }
command -v podman >/dev/null || { echo "podman is needed (apt-get install podman)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_cleanup_more() {
	[ -S "$WORK/podman.sock" ] && [ ${#PD[@]} -gt 0 ] && ids=$("${PD[@]}" ps -a -q 2>/dev/null) && [ -n "$ids" ] &&
		"${PD[@]}" rm -f $ids >/dev/null 2>&1
	return 0
}

podman_service_setup() {
	local dir=$WORK/podman-svc
	mkdir -p "$dir/tmp" "$dir/net"
	cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$dir/tmp"

[network]
network_config_dir = "$dir/net"
CONF
	CONTAINERS_CONF=$dir/containers.conf podman --root "$dir/root" --runroot "$dir/run" --storage-driver overlay \
		system service --time=0 "unix://$WORK/podman.sock" >"$WORK/podman-svc.log" 2>&1 &
	PIDS+=($!)
	PD=("${D[0]}" -H "unix://$WORK/podman.sock")
	wait_api "podman system service" "$WORK/podman-svc.log" "${PD[@]}"
	echo "== started podman system service ($(podman --version | awk '{print $3}'), API $("${PD[@]}" version -f '{{.Server.APIVersion}}'))"
	"${PD[@]}" load -i "$WORK/busybox-docker.tar" >/dev/null
}

bench_setup
docker_setup
[ ${#D[@]} -gt 0 ] || exit 1
podman_service_setup
BD=("${D[0]}" -H "unix://$WORK/berth/state/docker.sock")
for i in $(seq 100); do
	"${BD[@]}" version >/dev/null 2>&1 && break
	[ "$i" = 100 ] && { echo "berthd's Docker API did not answer" >&2; exit 1; }
	sleep 0.1
done
declare -A CLI=([berth]="${BD[*]}" [docker]="${D[*]}" [podman]="${PD[*]}")
SYSTEMS=(berth docker podman)
for s in "${SYSTEMS[@]}"; do
	${CLI[$s]} image inspect "$IMAGE" >/dev/null || { echo "$s does not have $IMAGE" >&2; exit 1; }
done

run_rm() { ${CLI[$1]} run --rm --network none "$IMAGE" true >/dev/null; }
detached() {
	local i
	for i in $(seq "$DETACHED"); do ${CLI[$1]} run -d --network none "$IMAGE" sleep 1000 >/dev/null; done
}
remove_all() {
	local ids
	ids=$(${CLI[$1]} ps -aq)
	[ -z "$ids" ] || ${CLI[$1]} rm -f $ids >/dev/null
	[ -z "$(${CLI[$1]} ps -aq)" ] || { echo "$1 still lists containers after rm -f" >&2; exit 1; }
	sleep "$SETTLE"
}
ms() { awk -v m="$1" 'BEGIN {printf "%.1f", m/1e6}'; }
secs() { awk -v m="$1" 'BEGIN {printf "%.2f", m/1e9}'; }

echo "== the same Docker CLI ($("${D[0]}" --version | cut -d, -f1 | awk '{print $3}')) against berthd, dockerd and podman;" \
	"every run --network none (the run path, no network setup)"
for s in "${SYSTEMS[@]}"; do run_rm "$s"; done # warm-up

declare -A RM DET
for r in $(seq "$ROUNDS"); do
	# rotate the order: round 1 berth docker podman, round 2 docker podman berth, ...
	k=$(((r - 1) % ${#SYSTEMS[@]}))
	order=("${SYSTEMS[@]:k}" "${SYSTEMS[@]:0:k}")
	declare -A T=()
	for _ in $(seq "$ITER"); do
		for s in "${order[@]}"; do
			now && t0=$NOW
			run_rm "$s"
			now && T[$s]+="$((NOW - t0)) "
		done
	done
	for s in "${order[@]}"; do
		now && t0=$NOW
		detached "$s"
		now && DET[$s]+="$((NOW - t0)) "
		remove_all "$s"
	done
	line="round $r:"
	for s in "${SYSTEMS[@]}"; do
		read -r m _ _ <<<"$(median_range ${T[$s]})"
		RM[$s]+="$m "
		d=${DET[$s]% }
		line+=" $s run-rm $(ms "$m") ms, $DETACHED detached $(secs "${d##* }") s;"
	done
	echo "${line%;}"
done

python3 - "$DETACHED" "$ITER" "${RM[berth]}" "${RM[docker]}" "${RM[podman]}" "${DET[berth]}" "${DET[docker]}" "${DET[podman]}" <<'PY'
import statistics, sys
detached, iters = sys.argv[1], sys.argv[2]
rm = dict(zip(("berth", "docker", "podman"), ([float(x) for x in a.split()] for a in sys.argv[3:6])))
det = dict(zip(("berth", "docker", "podman"), ([float(x) for x in a.split()] for a in sys.argv[6:9])))

def fmt(xs, unit, div, prec):
    return f"{statistics.median(xs)/div:.{prec}f} {unit} [{min(xs)/div:.{prec}f}-{max(xs)/div:.{prec}f}]"

def ratio(a, b):
    r = [x / y for x, y in zip(a, b)]
    return f"{statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]"

rounds = len(rm["berth"])
print(f"\nthe Docker CLI against berthd, dockerd and podman system service, all --network none;")
print(f"median over {rounds} rounds [min-max]; run --rm: each round's median of {iters} runs")
print(f"  {'':26} {'berthd':24} {'dockerd':24} {'podman':24} {'berth/docker':17} berth/podman")
for name, res, unit, div, prec in (("run --rm IMAGE true", rm, "ms", 1e6, 1),
                                    (f"{detached} x run -d (one by one)", det, "s", 1e9, 2)):
    print(f"  {name:26} " + " ".join(f"{fmt(res[s], unit, div, prec):24}" for s in ("berth", "docker", "podman"))
          + f" {ratio(res['berth'], res['docker']):17} {ratio(res['berth'], res['podman'])}")
PY
