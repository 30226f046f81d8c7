#!/usr/bin/env bash
# bench/netrun.sh — containers on a bridge network, side by side in one
# run: Berth (berthd, its default bridge network) against Podman 4.3 (CNI
# backend, a bridge network of its own, conmon + runc, cgroupfs).
#
#   run --rm  `run --rm IMAGE true` on the bridge network, ITER times per
#             round, interleaved berth, podman, berth, ...
#   50 -p     50 containers `run -d -p 127.0.0.1::80 IMAGE sleep`, started
#             10 at a time (each batch waited for), wall time until all
#             50 run; then they are removed (not timed).
#
# The report gives per figure the median over ROUNDS rounds (of per-round
# medians for run --rm) with its range [min-max], and berth/podman ratios.
# Network rule: no masquerade (Berth's networks have none; Podman's is
# created --internal, which drops its ipMasq), nothing but `true` and
# `sleep` runs, so no packet leaves the machine. Each side runs on its own
# root, state and network config under one temporary directory; at exit
# containers, daemons, both bridges (by exact name), Berth's loopback guard
# rule, podman's IPAM store and the CNI plugins' shared chains that did
# not exist before are removed.
#
# Usage: [ROUNDS=3] [ITER=10] bench/netrun.sh
# Needs root, go, podman, runc, /bin/busybox, containernetworking-plugins.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
ITER=${ITER:-10}
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/berth-bench-netrun-XXXXXX)
BRIDGE=bbench$$
SUBNET=10.203.0.0/24
PNET=berthbench$$
PIDS=()
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=
SHARED="CNI-FORWARD CNI-ADMIN CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ CNI-ISOLATION-STAGE-1 CNI-ISOLATION-STAGE-2"
chains() { for t in filter nat; do iptables -w -t "$t" -S | awk -v t="$t" '$1 == "-N" {print t, $2}'; done; }
chains >"$WORK/chains.before"

podman_cmd() {
	podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --tmpdir "$WORK/podman/tmp" \
		--network-config-dir "$WORK/podman/net.d" --cgroup-manager=cgroupfs --runtime runc \
		--storage-driver overlay "$@"
}

# drop_new_chains removes, by name, the CNI plugins' shared chains that
# did not exist before, with the jumps into them.
drop_new_chains() {
	local t c rule new=()
	while read -r t c; do
		[[ " $SHARED " == *" $c "* ]] && ! grep -qx "$t $c" "$WORK/chains.before" && new+=("$t $c")
	done < <(chains)
	for tc in "${new[@]}"; do
		read -r t c <<<"$tc"
		iptables -w -t "$t" -S | grep -E -- "-j $c( |\$)" | while read -r rule; do
			eval "iptables -w -t $t ${rule/#-A/-D}"
		done
	done
	for tc in "${new[@]}"; do read -r t c <<<"$tc"; iptables -w -t "$t" -F "$c"; done
	for tc in "${new[@]}"; do read -r t c <<<"$tc"; iptables -w -t "$t" -X "$c"; done
}

cleanup() {
	set +e
	[ -S "$WORK/berthd.sock" ] && ids=$("$WORK/bin/berth" --address "$WORK/berthd.sock" ps -a -q 2>/dev/null) && [ -n "$ids" ] &&
		"$WORK/bin/berth" --address "$WORK/berthd.sock" rm -f $ids >/dev/null 2>&1
	podman_cmd rm -a -f >/dev/null 2>&1
	podman_cmd network rm -f "$PNET" >/dev/null 2>&1
	rm -rf "/var/lib/cni/networks/$PNET" # host-local's store of podman's network
	podman_cmd rmi -a -f >/dev/null 2>&1
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
	iptables -w -D INPUT -i "$BRIDGE" -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED \
		-m comment --comment "berth: no route_localnet from $BRIDGE" -j DROP 2>/dev/null
	drop_new_chains
	grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "== building berth and the image"
(cd "$REPO_ROOT" && make build >/dev/null && cp -r bin "$WORK/bin")
(cd "$REPO_ROOT" && go run ./hack/mkimage --oci-archive "$WORK/busybox.tar" --ref localhost/bench/busybox:1)
IMAGE=localhost/bench/busybox:1

echo "== starting berthd (bridge $BRIDGE, $SUBNET), making podman's network $PNET"
printf '[network]\ndefault_bridge = "%s"\ndefault_subnet = "%s"\n' "$BRIDGE" "$SUBNET" >"$WORK/berthd.toml"
"$WORK/bin/berthd" --root "$WORK/berth/root" --state "$WORK/berth/state" --address "$WORK/berthd.sock" \
	--config "$WORK/berthd.toml" --log-level warn >"$WORK/berthd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$WORK/berthd.sock" ] && break; sleep 0.1; done
B=("$WORK/bin/berth" --address "$WORK/berthd.sock")
mkdir -p "$WORK/podman/net.d"
podman_cmd network create --internal --disable-dns "$PNET" >/dev/null
if grep -q '"ipMasq": *true' "$WORK/podman/net.d/"*.conflist; then
	echo "podman's network would masquerade; stopping" >&2
	exit 1
fi

"${B[@]}" load -i "$WORK/busybox.tar" >/dev/null
podman_cmd load -i "$WORK/busybox.tar" >/dev/null 2>&1

PODRUN=(--network "$PNET" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
rm_berth() { "${B[@]}" run --rm "$IMAGE" true; }
rm_podman() { podman_cmd run --rm "${PODRUN[@]}" "$IMAGE" true; }
# Named: berth's generated names are picked without a reservation, so
# concurrent creates may draw the same one.
d_berth() { "${B[@]}" run -d --name "b$1" -p 127.0.0.1::80 "$IMAGE" sleep 100000; }
d_podman() { podman_cmd run -d --name "p$1" "${PODRUN[@]}" -p 127.0.0.1::80 "$IMAGE" sleep 100000; }
clear_berth() { "${B[@]}" rm -f $("${B[@]}" ps -a -q) >/dev/null; }
clear_podman() { podman_cmd rm -a -f -t 0 >/dev/null; }

# fifty SYSTEM: ns to start 50 containers 10 at a time.
fifty() {
	local t0 b i
	t0=$(now_ns)
	for b in $(seq 5); do
		for i in $(seq 10); do "d_$1" "$b-$i" >/dev/null & done
		wait
	done
	echo $(($(now_ns) - t0))
	[ "$("${B[@]}" ps -q | wc -l)" -eq 50 ] || [ "$1" != berth ] || { echo "berth: not 50 running" >&2; exit 1; }
	[ "$(podman_cmd ps -q | wc -l)" -eq 50 ] || [ "$1" != podman ] || { echo "podman: not 50 running" >&2; exit 1; }
	"clear_$1"
}

rm_berth && rm_podman # warm-up: default network, caches

declare -A RES=([berth]="" [podman]="" [fberth]="" [fpodman]="")
for r in $(seq "$ROUNDS"); do
	declare -A T=([berth]="" [podman]="")
	for i in $(seq "$ITER"); do
		for s in berth podman; do
			t0=$(now_ns)
			"rm_$s" >/dev/null
			T[$s]+="$(($(now_ns) - t0)) "
		done
	done
	for s in berth podman; do RES[$s]+="$(echo "${T[$s]}" | median) "; done
	for s in berth podman; do RES[f$s]+="$(fifty "$s") "; done
	echo "round $r: run --rm berth $(echo "${RES[berth]}" | awk '{printf "%.1f", $NF/1e6}') ms, podman $(echo "${RES[podman]}" | awk '{printf "%.1f", $NF/1e6}') ms;" \
		"50 -p berth $(echo "${RES[fberth]}" | awk '{printf "%.0f", $NF/1e6}') ms, podman $(echo "${RES[fpodman]}" | awk '{printf "%.0f", $NF/1e6}') ms"
done

python3 - "${RES[berth]}" "${RES[podman]}" "${RES[fberth]}" "${RES[fpodman]}" <<'PY'
import statistics, sys
b, p, fb, fp = ([float(x) / 1e6 for x in a.split()] for a in sys.argv[1:5])
def fmt(xs): return f"{statistics.median(xs):.1f} ms [{min(xs):.1f}-{max(xs):.1f}]"
def ratio(x, y):
    r = [i / j for i, j in zip(x, y)]
    return f"{statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]"
print(f"\nbridge network, median over {len(b)} rounds [range]")
print(f"  run --rm true      berth {fmt(b)}   podman {fmt(p)}   berth/podman {ratio(b, p)}")
print(f"  50 x run -d -p, 10 at a time   berth {fmt(fb)}   podman {fmt(fp)}   berth/podman {ratio(fb, fp)}")
PY
