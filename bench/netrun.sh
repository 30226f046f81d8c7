#!/usr/bin/env bash
# bench/netrun.sh — containers on a bridge network, side by side in one
# run: Berth (berthd, its default bridge network), Podman 4.3 (CNI
# backend, a bridge network of its own, conmon + runc, cgroupfs) and
# containerd 1.6 (`ctr run --cni`, runc).
#
#   run --rm  `run --rm IMAGE true` on the bridge network, ITER times per
#             round, interleaved berth, podman, containerd, ...
#   50 -p     50 containers `run -d -p 127.0.0.1::80 IMAGE sleep`, started
#             10 at a time (each batch waited for), wall time until all
#             50 run; then they are removed (not timed).
#
# containerd: ctr 1.6 reads CNI config only from /etc/cni/net.d (the
# first file by name) and plugins only from /opt/cni/bin, and cannot be
# pointed elsewhere; it passes no port mappings. So this script writes
# /etc/cni/net.d/00-berth-bench-PID.conflist (named to sort first) and,
# when /opt/cni/bin does not exist, makes it a symlink to Debian's
# /usr/lib/cni; it removes exactly both at exit. The conflist is bridge +
# host-local (its store under WORK) + portmap, and portmap's mapping
# (127.0.0.1:PORT -> 80/tcp) is written into the conflist's static
# runtimeConfig, so containerd's plugins do the same work as Berth's and
# Podman's for one published port — but every containerd container maps
# the same host port (no allocation, no conflict check: ctr has neither).
#
# The report gives per figure the median over ROUNDS rounds (of per-round
# medians for run --rm) with its range [min-max], and ratios berth/podman
# and berth/containerd. Network rule: no masquerade (Berth's networks
# have none; Podman's is created --internal, which drops its ipMasq;
# containerd's conflist has ipMasq false), nothing but `true` and `sleep`
# runs, so no packet leaves the machine. Each side runs on its own root,
# state and network config under one temporary directory (bench/lib.sh);
# at exit containers, daemons, the three bridges (by exact name), Berth's
# loopback guard and masquerade rules, podman's IPAM store, the files above, portmap's
# rules for containerd's containers (ctr runs no CNI DEL for them) and the CNI
# plugins' shared chains that did not exist before are removed.
#
# Usage: [ROUNDS=3] [ITER=10] bench/netrun.sh
# Needs root, go, podman, containerd, runc, /bin/busybox,
# containernetworking-plugins.
set -euo pipefail

BENCH=netrun
ROUNDS=${ROUNDS:-3}
ITER=${ITER:-10}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
BRIDGE=bbench$$
SUBNET=10.203.0.0/24
CBRIDGE=cbench$$
CSUBNET=10.204.0.0/24
CPORT=${CPORT:-18081}
PNET=berthbench$$
CNICONF=/etc/cni/net.d/00-berth-bench-$$.conflist
CNIBIN= CNIDIR=
SHARED="CNI-FORWARD CNI-ADMIN CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ CNI-ISOLATION-STAGE-1 CNI-ISOLATION-STAGE-2"
chains() { for t in filter nat; do iptables -w -t "$t" -S | awk -v t="$t" '$1 == "-N" {print t, $2}'; done; }
chains >"$WORK/chains.before"
PODMAN_FLAGS=(--network-config-dir "$WORK/podman/net.d")
BERTHD_CONFIG=$WORK/berthd.toml
printf '[network]\ndefault_bridge = "%s"\ndefault_subnet = "%s"\n' "$BRIDGE" "$SUBNET" >"$BERTHD_CONFIG"

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

# drop_ctr_portmaps removes what portmap made for containerd's
# containers (ctr task delete runs no CNI DEL): the jumps in
# CNI-HOSTPORT-DNAT commented with this run's network name, and the
# CNI-DN-* chains they lead to.
drop_ctr_portmaps() {
	local rule chain
	iptables -w -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | grep -F "dnat name: \\\"berth-bench-$$\\\"" | while read -r rule; do
		chain=${rule##* -j }
		eval "iptables -w -t nat ${rule/#-A/-D}"
		iptables -w -t nat -F "$chain" && iptables -w -t nat -X "$chain"
	done
}

bench_cleanup_more() {
	[ -d "$WORK/podman" ] && podman_cmd rm -a -f -t 0 >/dev/null 2>&1 && podman_cmd network rm -f "$PNET" >/dev/null 2>&1
	rm -rf "/var/lib/cni/networks/$PNET" # host-local's store of podman's network
}
bench_cleanup_after() {
	drop_ctr_portmaps
	rm -f "$CNICONF"
	[ -n "$CNIBIN" ] && rm -f "$CNIBIN"
	[ -n "$CNIDIR" ] && rmdir "$CNIDIR"
	for br in "$BRIDGE" "$CBRIDGE"; do ip link show "$br" >/dev/null 2>&1 && ip link delete "$br"; done
	iptables -w -D INPUT -i "$BRIDGE" -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED \
		-m comment --comment "berth: no route_localnet from $BRIDGE" -j DROP 2>/dev/null
	iptables -w -t nat -D POSTROUTING -o "$BRIDGE" -s 127.0.0.0/8 -m conntrack --ctstate DNAT \
		-m comment --comment "berth: loopback to ports published on $BRIDGE" -j MASQUERADE 2>/dev/null
	iptables -w -t nat -D POSTROUTING -o "$BRIDGE" -s "$SUBNET" -m conntrack --ctstate DNAT \
		-m comment --comment "berth: hairpin to ports published on $BRIDGE" -j MASQUERADE 2>/dev/null
	drop_new_chains
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

mkdir -p "$WORK/podman/net.d"
bench_setup
echo "== podman's network $PNET, containerd's conflist $CNICONF (bridge $CBRIDGE, $CSUBNET, 127.0.0.1:$CPORT -> 80)"
podman_cmd network create --internal --disable-dns "$PNET" >/dev/null
if grep -q '"ipMasq": *true' "$WORK/podman/net.d/"*.conflist; then
	echo "podman's network would masquerade; stopping" >&2
	exit 1
fi
if [ ! -e /opt/cni/bin ]; then
	[ -e /opt/cni ] || CNIDIR=/opt/cni
	mkdir -p /opt/cni
	ln -s /usr/lib/cni /opt/cni/bin
	CNIBIN=/opt/cni/bin
fi
mkdir -p /etc/cni/net.d
cat >"$CNICONF" <<JSON
{"cniVersion": "1.0.0", "name": "berth-bench-$$", "plugins": [
  {"type": "bridge", "bridge": "$CBRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$CSUBNET"}]], "routes": [], "dataDir": "$WORK/ctr-ipam"}},
  {"type": "portmap", "snat": true, "capabilities": {"portMappings": true},
   "runtimeConfig": {"portMappings": [{"hostPort": $CPORT, "hostIP": "127.0.0.1", "containerPort": 80, "protocol": "tcp"}]}}
]}
JSON
[ "$(ls /etc/cni/net.d/ | grep -E '\.(conflist|conf|json)$' | sort | head -1)" = "$(basename "$CNICONF")" ] ||
	{ echo "$CNICONF would not be the first conflist ctr loads; stopping" >&2; exit 1; }

PODRUN=(--network "$PNET" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
rm_berth() { "${B[@]}" run --rm "$IMAGE" true; }
rm_podman() { podman_cmd run --rm "${PODRUN[@]}" "$IMAGE" true; }
CN=0
rm_containerd() { CN=$((CN + 1)); "${C[@]}" run --rm --cni "$IMAGE" "r$CN" true; }
# Named: berth's generated names are picked without a reservation, so
# concurrent creates may draw the same one.
d_berth() { "${B[@]}" run -d --name "b$1" -p 127.0.0.1::80 "$IMAGE" sleep 100000; }
d_podman() { podman_cmd run -d --name "p$1" "${PODRUN[@]}" -p 127.0.0.1::80 "$IMAGE" sleep 100000; }
d_containerd() { "${C[@]}" run -d --cni "$IMAGE" "c$1" sleep 100000; }
clear_berth() { "${B[@]}" rm -f $("${B[@]}" ps -a -q) >/dev/null; }
clear_podman() { podman_cmd rm -a -f -t 0 >/dev/null; }
clear_containerd() {
	local id
	for id in $("${C[@]}" containers ls -q); do
		"${C[@]}" task delete -f "$id" >/dev/null 2>&1
		"${C[@]}" containers delete "$id" >/dev/null
	done
	drop_ctr_portmaps
}
running() {
	case $1 in
	berth) "${B[@]}" ps -q | wc -l ;;
	podman) podman_cmd ps -q | wc -l ;;
	containerd) "${C[@]}" task ls | grep -c RUNNING ;;
	esac
}

# fifty SYSTEM ROUND: ns to start 50 containers 10 at a time.
fifty() {
	local t0 b i
	t0=$(now_ns)
	for b in $(seq 5); do
		for i in $(seq 10); do "d_$1" "$2-$b-$i" >/dev/null & done
		wait
	done
	echo $(($(now_ns) - t0))
	[ "$(running "$1")" -eq 50 ] || { echo "$1: not 50 running" >&2; exit 1; }
	[ "$1" != containerd ] || [ "$(iptables -w -t nat -S | grep -c -- "--dport $CPORT -j DNAT --to-destination ${CSUBNET%.*}")" -eq 50 ] ||
		{ echo "containerd: portmap did not make 50 DNAT rules" >&2; exit 1; }
	"clear_$1"
}

SYS=(berth podman containerd)
rm_berth && rm_podman && rm_containerd # warm-up: default network, caches

declare -A RES=()
for r in $(seq "$ROUNDS"); do
	declare -A T=()
	for i in $(seq "$ITER"); do
		for s in "${SYS[@]}"; do
			t0=$(now_ns)
			"rm_$s" >/dev/null
			T[$s]+="$(($(now_ns) - t0)) "
		done
	done
	for s in "${SYS[@]}"; do RES[$s]+="$(echo "${T[$s]}" | median) "; done
	for s in "${SYS[@]}"; do RES[f$s]+="$(fifty "$s" "$r") "; done
	line="round $r:"
	for s in "${SYS[@]}"; do line+=" $s $(echo "${RES[$s]}" | awk '{printf "%.1f", $NF/1e6}') / $(echo "${RES[f$s]}" | awk '{printf "%.0f", $NF/1e6}') ms;"; done
	echo "$line (run --rm / 50 -p)"
done

python3 - "${RES[berth]}" "${RES[podman]}" "${RES[containerd]}" "${RES[fberth]}" "${RES[fpodman]}" "${RES[fcontainerd]}" <<'PY'
import statistics, sys
b, p, c, fb, fp, fc = ([float(x) / 1e6 for x in a.split()] for a in sys.argv[1:7])
def fmt(xs): return f"{statistics.median(xs):.1f} ms [{min(xs):.1f}-{max(xs):.1f}]"
def ratio(x, y):
    r = [i / j for i, j in zip(x, y)]
    return f"{statistics.median(r):.2f} [{min(r):.2f}-{max(r):.2f}]"
print(f"\nbridge network, median over {len(b)} rounds [range]")
for name, x, y, z in (("run --rm true", b, p, c), ("50 x run -d -p, 10 at a time", fb, fp, fc)):
    print(f"  {name}\n    berth {fmt(x)}   podman {fmt(y)}   containerd {fmt(z)}")
    print(f"    berth/podman {ratio(x, y)}   berth/containerd {ratio(x, z)}")
print("  containerd: ctr run --cni, bridge + host-local + portmap with one static mapping 127.0.0.1:PORT->80"
      " in the conflist (ctr passes no port mappings): every container maps the same host port, none allocated or checked")
PY
