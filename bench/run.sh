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
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/berth-bench-run-XXXXXX)
PIDS=()
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=

cleanup() {
	set +e
	[ -S "$WORK/berthd.sock" ] && ids=$("$WORK/bin/berth" --address "$WORK/berthd.sock" ps -a -q 2>/dev/null) && [ -n "$ids" ] &&
		"$WORK/bin/berth" --address "$WORK/berthd.sock" rm -f $ids >/dev/null 2>&1
	podman_cmd rm -a -f >/dev/null 2>&1
	podman_cmd rmi -a -f >/dev/null 2>&1
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	# ctr leaves its namespace's cgroup directory behind.
	for d in /sys/fs/cgroup/*/berth-bench-run /sys/fs/cgroup/berth-bench-run; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

podman_cmd() {
	podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --tmpdir "$WORK/podman/tmp" \
		--cgroup-manager=cgroupfs --runtime runc --storage-driver overlay "$@"
}
now_ns() { date +%s%N; }

echo "== building berth and the image"
(cd "$REPO_ROOT" && make build >/dev/null && cp -r bin "$WORK/bin")
(cd "$REPO_ROOT" && go run ./hack/mkimage --oci-archive "$WORK/busybox.tar" --ref localhost/bench/busybox:1)
IMAGE=localhost/bench/busybox:1

echo "== starting berthd and containerd"
"$WORK/bin/berthd" --root "$WORK/berth/root" --state "$WORK/berth/state" --address "$WORK/berthd.sock" \
	--config /dev/null --log-level warn >"$WORK/berthd.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/containerd/root"
state = "$WORK/containerd/state"
[grpc]
  address = "$WORK/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
TOML
containerd --config "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$WORK/berthd.sock" ] && [ -S "$WORK/containerd.sock" ] && break; sleep 0.1; done
B=("$WORK/bin/berth" --address "$WORK/berthd.sock")
C=(ctr --address "$WORK/containerd.sock" --namespace berth-bench-run)

echo "== loading the image into each"
"${B[@]}" load -i "$WORK/busybox.tar" >/dev/null
"${C[@]}" images import "$WORK/busybox.tar" >/dev/null
"${C[@]}" images ls -q | grep -q bench/busybox || { echo "ctr did not import the image" >&2; exit 1; }
mkdir -p "$WORK/podman"
podman_cmd load -i "$WORK/busybox.tar" >/dev/null 2>&1

# --network none: berth's default is the bridge network now, and ctr run
# (and podman here) set up no network; this compares container starts.
run_berth() { "${B[@]}" run --rm --network none "$IMAGE" true; }
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
