#!/usr/bin/env bash
# bench/netsetup.sh — network setup + teardown cost: Berth vs Podman.
#
# Berth: bench/netsetup times netns create → CNI ADD on a bridge network
# with one published port → CNI DEL → netns remove, in process.
# Podman (4.3, CNI backend): `podman run --rm` of /bin/true from a local
# busybox image, once with `--network bridge -p PORT:80` and once with
# `--network none`; Podman's network cost is the difference of the two
# medians. Each round runs N iterations of all three; the report gives, per
# figure, the median over rounds with its range [min-max], and the ratio
# berth / (podman bridge − podman none) (< 1: Berth is faster).
#
# Needs root, podman, runc, /bin/busybox, go. Environment: ROUNDS
# (default 3), N (default 10), PORT (default 18080). Leaves nothing
# behind: the image it imports is removed, and so are podman's bridge and
# the CNI plugins' shared chains when they did not exist before.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
N=${N:-10}
PORT=${PORT:-18080}
IMG=localhost/berth-bench-busybox:netsetup
WORK=$(mktemp -d /tmp/berth-bench-net-XXXXXX)
PODMAN=(podman --cgroup-manager=cgroupfs --runtime /usr/sbin/runc)
RUNFLAGS=(--rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
had_bridge=0
ip link show cni-podman0 >/dev/null 2>&1 && had_bridge=1
SHARED="CNI-FORWARD CNI-ADMIN CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ CNI-ISOLATION-STAGE-1 CNI-ISOLATION-STAGE-2"
chains() { for t in filter nat; do iptables -w -t "$t" -S | awk -v t="$t" '$1 == "-N" {print t, $2}'; done; }
chains >"$WORK/chains.before"

# drop_new_chains: the CNI plugins' shared chains that did not exist
# before the benchmark are removed, with the jumps into them, by name.
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
	"${PODMAN[@]}" rmi -f "$IMG" >/dev/null 2>&1
	if [[ $had_bridge == 0 ]] && ip link show cni-podman0 >/dev/null 2>&1; then
		ip link delete cni-podman0
	fi
	drop_new_chains
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building"
(cd "$REPO" && go build -o "$WORK/netsetup" ./bench/netsetup)
mkdir -p "$WORK/root/bin"
cp /bin/busybox "$WORK/root/bin/"
ln -s busybox "$WORK/root/bin/true"
tar -C "$WORK/root" -c . | "${PODMAN[@]}" import - "$IMG" >/dev/null

now_ms() { date +%s%3N; }
# podman_median NET...: median wall time in ms of N podman runs.
podman_median() {
	local t0 i times=()
	for i in $(seq "$N"); do
		t0=$(now_ms)
		"${PODMAN[@]}" run "${RUNFLAGS[@]}" "$@" "$IMG" /bin/true
		times+=($(($(now_ms) - t0)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

"${PODMAN[@]}" run "${RUNFLAGS[@]}" --network bridge -p "$PORT:80" "$IMG" /bin/true # warm-up
for r in $(seq "$ROUNDS"); do
	berth=$("$WORK/netsetup" -n "$N" -port "$PORT" | awk '/^RESULT/ {print $3}')
	bridge=$(podman_median --network bridge -p "$PORT:80")
	none=$(podman_median --network none)
	echo "round $r: berth ${berth} ms, podman bridge ${bridge} ms, podman none ${none} ms"
	echo "$berth $bridge $none" >>"$WORK/rounds"
done

python3 - "$WORK/rounds" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def show(name, xs):
    print(f"{name:32s} {statistics.median(xs):8.1f}  [{min(xs):.1f}-{max(xs):.1f}]")
print("== median over rounds [range], ms")
show("berth setup+teardown", [r[0] for r in rows])
show("podman run --network bridge -p", [r[1] for r in rows])
show("podman run --network none", [r[2] for r in rows])
net = [r[1] - r[2] for r in rows]
show("podman network cost", net)
ratios = [r[0] / max(r[1] - r[2], 1e-9) for r in rows]
print(f"{'ratio berth / podman network':32s} {statistics.median(ratios):8.2f}  [{min(ratios):.2f}-{max(ratios):.2f}]")
PY
