#!/usr/bin/env bash
# Berth's main job, offline, on a fresh Debian machine (as root):
# installs what is needed, builds, makes a small busybox image from the
# host's busybox-static, serves it from a local registry, pulls and unpacks
# it with berthd and the berth CLI, runs a container with berth-runtime,
# and ends with `berth run --rm` of that image, through berthd and its
# shim. Everything it starts is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

./hack/install-deps.sh >/dev/null
make build >/dev/null
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
# berthd's default network gets a bridge and subnet of the demo's own.
rnd=$(od -An -N2 -tu1 /dev/urandom | tr -s ' ' | sed 's/^ //')
bridge=bdemo$(printf '%02x%02x' $rnd)
subnet=10.$((210 + ${rnd% *} % 40)).${rnd#* }.0/24
printf '[network]\ndefault_bridge = "%s"\ndefault_subnet = "%s"\n' "$bridge" "$subnet" >"$work/berthd.toml"
pids=()
cleanup() {
	ids=$(BERTH_ADDRESS=$work/berthd.sock bin/berth ps -a -q 2>/dev/null || true)
	[ -z "$ids" ] || BERTH_ADDRESS=$work/berthd.sock bin/berth rm -f $ids >/dev/null 2>&1 || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	bin/berth-runtime --root "$work/runtime" delete --force berth-demo >/dev/null 2>&1 || true
	# The default network's bridge, its loopback guard and masquerade
	# rules (network/rules.go), by exact text.
	guard=(-t filter INPUT -i "$bridge" -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "berth: no route_localnet from $bridge" -j DROP)
	lo=(-t nat POSTROUTING -o "$bridge" -s 127.0.0.0/8 -m conntrack --ctstate DNAT -m comment --comment "berth: loopback to ports published on $bridge" -j MASQUERADE)
	hp=(-t nat POSTROUTING -o "$bridge" -s "$subnet" -m conntrack --ctstate DNAT -m comment --comment "berth: hairpin to ports published on $bridge" -j MASQUERADE)
	for r in guard lo hp; do
		declare -n rule=$r
		while iptables -w "${rule[@]:0:2}" -C "${rule[@]:2}" 2>/dev/null; do iptables -w "${rule[@]:0:2}" -D "${rule[@]:2}"; done
	done
	ip link del "$bridge" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. a busybox image and bundle made from /bin/busybox"
go run ./hack/mkimage --bundle "$work/bundle" --oci-archive "$work/busybox.tar" --ref demo/busybox:1.0

echo "== 2. a Distribution registry on 127.0.0.1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 5055)
cat > "$work/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
log: {level: error}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)

echo "== 3. berthd, with its data in $work"
bin/berthd --root "$work/lib" --state "$work/run" --address "$work/berthd.sock" --config "$work/berthd.toml" --log-level warn >"$work/berthd.log" 2>&1 &
pids+=($!)
export BERTH_ADDRESS=$work/berthd.sock
for _ in $(seq 100); do [ -S "$work/berthd.sock" ] && curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

echo "== 4. load, push to the registry, remove, pull back"
bin/berth load -i "$work/busybox.tar"
bin/berth tag demo/busybox:1.0 "127.0.0.1:$port/demo/busybox:1.0"
bin/berth push "127.0.0.1:$port/demo/busybox:1.0"
bin/berth rmi demo/busybox:1.0 "127.0.0.1:$port/demo/busybox:1.0" >/dev/null
bin/berth pull "127.0.0.1:$port/demo/busybox:1.0"
bin/berth images

echo "== 5. a container run by berth-runtime"
bin/berth-runtime --root "$work/runtime" run --bundle "$work/bundle" berth-demo

echo "== 6. berth run --rm: a container from the image, through berthd and berth-shim"
bin/berth run --rm "127.0.0.1:$port/demo/busybox:1.0" echo "hello from a berth container"
echo "== done"
