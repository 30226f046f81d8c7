#!/usr/bin/env bash
# Pull benchmark: berthd vs containerd, side by side, in one run.
#
# Builds a multi-layer image (a few hundred MB uncompressed, random-ish but
# compressible, gzip layers), pushes it to a private docker-registry on
# 127.0.0.1, starts a berthd and a containerd with their own root, state and
# socket under one temporary directory, and times
#   cold: pull + unpack into an empty store, and
#   warm: content already present, image and snapshots removed, pull again,
# then prints the ratios and each daemon's idle and peak RSS (VmRSS before
# the pulls, VmHWM after). Everything it starts is stopped by PID and
# everything it creates lives under the temporary directory, removed at exit.
#
# The pulls are repeated ROUNDS times (default 3), each round with fresh
# daemons, and the report gives the median over rounds with its range: one
# round's ratio moves a lot on a shared VM.
#
# Usage: [ROUNDS=N] bench/pull.sh [LAYERS] [MB_PER_LAYER]   (default 5 layers × 60 MB)
# BERTH_BENCH_PROFILE=FILE saves a CPU profile of berthd's cold pull.
# Needs root, go, docker-registry, containerd + ctr, skopeo, jq.
set -euo pipefail

LAYERS=${1:-5}
MB=${2:-60}
ROUNDS=${ROUNDS:-3}
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
PIDS=()

cleanup() {
	set +e
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Unmount anything left under our directory (deepest first).
	grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== building berth binaries"
(cd "$REPO_ROOT" && go build -o "$WORK/bin/berthd" ./cmd/berthd && go build -o "$WORK/bin/berth" ./cmd/berth)

echo "== building a ${LAYERS}-layer image (${MB} MB per layer before compression)"
LAYOUT=$WORK/layout
mkdir -p "$LAYOUT/blobs/sha256" "$WORK/src"
diff_ids=()
layers_json=()
for i in $(seq "$LAYERS"); do
	d=$WORK/src/l$i
	mkdir -p "$d/data$i"
	half=$((MB / 2))
	# Half random text (compresses ≈ 25%), half repetitive text (compresses well).
	head -c "$((half * 1024 * 1024 * 3 / 4))" /dev/urandom | base64 -w 120 >"$d/data$i/random.txt"
	yes "berth bench layer $i: the quick brown fox jumps over the lazy dog" | head -c "$((half * 1024 * 1024))" >"$d/data$i/text.txt" || true # yes dies of SIGPIPE
	for j in $(seq 200); do echo "small file $i/$j" >"$d/data$i/small$j"; done
	tar -C "$d" --numeric-owner --owner=0 --group=0 -cf "$WORK/l$i.tar" .
	diff_ids+=("sha256:$(sha256sum "$WORK/l$i.tar" | cut -d' ' -f1)")
	gzip -6 -n <"$WORK/l$i.tar" >"$WORK/l$i.tar.gz"
	dg=$(sha256sum "$WORK/l$i.tar.gz" | cut -d' ' -f1)
	mv "$WORK/l$i.tar.gz" "$LAYOUT/blobs/sha256/$dg"
	layers_json+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$dg\",\"size\":$(stat -c %s "$LAYOUT/blobs/sha256/$dg")}")
	rm -rf "$d" "$WORK/l$i.tar"
done
ids=$(printf '"%s",' "${diff_ids[@]}")
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "${ids%,}" >"$WORK/config.json"
cdg=$(sha256sum "$WORK/config.json" | cut -d' ' -f1)
csz=$(stat -c %s "$WORK/config.json")
mv "$WORK/config.json" "$LAYOUT/blobs/sha256/$cdg"
ls_json=$(IFS=,; echo "${layers_json[*]}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' "$cdg" "$csz" "$ls_json" >"$WORK/manifest.json"
mdg=$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)
msz=$(stat -c %s "$WORK/manifest.json")
mv "$WORK/manifest.json" "$LAYOUT/blobs/sha256/$mdg"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' "$mdg" "$msz" >"$LAYOUT/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
COMPRESSED=$(du -sm "$LAYOUT/blobs" | cut -f1)

echo "== starting docker-registry"
PORT=$(free_port)
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry/data
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
REF=127.0.0.1:$PORT/berth-bench/big:v1
skopeo copy --quiet --dest-tls-verify=false "oci:$LAYOUT:bench" "docker://$REF"
rm -rf "$LAYOUT"

# one_round N: fresh berthd and containerd under $WORK/roundN, a cold and a
# warm pull with each, then both daemons stopped; appends
# "cold_b cold_c warm_b warm_c idle_b idle_c peak_b peak_c" (ms, KiB) to
# $WORK/rounds.
one_round() {
	local R=$WORK/round$1
	mkdir -p "$R"
	echo "== round $1 of $ROUNDS: starting berthd and containerd (fresh roots)"
	DEBUG_PORT=$(free_port)
	if [ -n "${BERTH_BENCH_PROFILE:-}" ]; then
		printf '[debug]\naddress = "127.0.0.1:%s"\n' "$DEBUG_PORT" >"$R/berthd.toml"
	else
		: >"$R/berthd.toml" # an empty config: every key default
	fi
	"$WORK/bin/berthd" --root "$R/berthd/root" --state "$R/berthd/state" --address "$R/berthd/berthd.sock" --config "$R/berthd.toml" --log-level warn >"$R/berthd.log" 2>&1 &
	BERTHD=$!
	PIDS+=($BERTHD)
	mkdir -p "$R/containerd"
	cat >"$R/containerd/config.toml" <<-TOML
	version = 2
	root = "$R/containerd/root"
	state = "$R/containerd/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$R/containerd/containerd.sock"
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$R/containerd/opt"
	TOML
	containerd --config "$R/containerd/config.toml" --log-level error >"$R/containerd.log" 2>&1 &
	CONTAINERD=$!
	PIDS+=($CONTAINERD)
	BERTH="$WORK/bin/berth --address $R/berthd/berthd.sock"
	CTR="ctr -a $R/containerd/containerd.sock -n berth-bench"
	for _ in $(seq 100); do $BERTH version >/dev/null 2>&1 && break; sleep 0.1; done
	for _ in $(seq 100); do $CTR version >/dev/null 2>&1 && break; sleep 0.1; done
	sleep 1
	BERTHD_IDLE=$(rss_kb $BERTHD VmRSS)
	CONTAINERD_IDLE=$(rss_kb $CONTAINERD VmRSS)

	sync
	echo "== cold pull + unpack"
	if [ -n "${BERTH_BENCH_PROFILE:-}" ]; then
		curl -fs -o "$BERTH_BENCH_PROFILE" "http://127.0.0.1:$DEBUG_PORT/debug/pprof/profile?seconds=4" &
		PROF=$!
		sleep 0.2
	fi
	t0=$(now_ms); $BERTH pull -q "$REF" >/dev/null; t1=$(now_ms)
	if [ -n "${BERTH_BENCH_PROFILE:-}" ]; then wait $PROF; fi
	BERTH_COLD=$((t1 - t0))
	sync
	t0=$(now_ms); $CTR images pull --plain-http "$REF" >/dev/null; t1=$(now_ms)
	CTR_COLD=$((t1 - t0))
	sync

	echo "== warm: content present, image and snapshots removed, pull again"
	# berth: drop snapshots (children first) and the image record, keep content.
	while keys=$($BERTH snapshot ls | awk 'NR > 1 {print $1}') && [ -n "$keys" ]; do
		parents=$($BERTH snapshot ls | awk 'NR > 1 && $2 != "" {print $2}')
		for k in $keys; do grep -qxF "$k" <<<"$parents" || $BERTH snapshot rm "$k"; done
	done
	$BERTH rmi --no-prune "$REF" >/dev/null
	# containerd: make the blobs GC roots so removing the image keeps them.
	for dg in $($CTR content ls -q); do $CTR content label "$dg" containerd.io/gc.root=bench >/dev/null; done
	$CTR images rm --sync "$REF" >/dev/null
	while keys=$($CTR snapshots ls | awk 'NR > 1 {print $1}') && [ -n "$keys" ]; do
		parents=$($CTR snapshots ls | awk 'NR > 1 {print $2}')
		for k in $keys; do
			grep -qxF "$k" <<<"$parents" && continue
			# containerd's own GC may have taken it since the listing.
			out=$($CTR snapshots rm "$k" 2>&1) || grep -q "not found" <<<"$out" || { echo "$out" >&2; exit 1; }
		done
	done
	sync
	t0=$(now_ms); $BERTH pull -q "$REF" >/dev/null; t1=$(now_ms)
	BERTH_WARM=$((t1 - t0))
	sync
	t0=$(now_ms); $CTR images pull --plain-http "$REF" >/dev/null; t1=$(now_ms)
	CTR_WARM=$((t1 - t0))

	BERTHD_PEAK=$(rss_kb $BERTHD VmHWM)
	CONTAINERD_PEAK=$(rss_kb $CONTAINERD VmHWM)
	echo "$BERTH_COLD $CTR_COLD $BERTH_WARM $CTR_WARM $BERTHD_IDLE $CONTAINERD_IDLE $BERTHD_PEAK $CONTAINERD_PEAK" >>"$WORK/rounds"
	kill -TERM "$BERTHD" "$CONTAINERD"
	wait "$BERTHD" "$CONTAINERD" 2>/dev/null || true
}

for ((round = 1; round <= ROUNDS; round++)); do
	one_round "$round"
done

# spread COLUMN_EXPR: the median over rounds of an awk expression of the
# columns of $WORK/rounds, with its range: "M [MIN-MAX]".
spread() {
	awk "{ print $1 }" "$WORK/rounds" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (NR == 1) printf "%.2f", m; else printf "%.2f [%.2f-%.2f]", m, v[1], v[NR]
		}'
}
echo
echo "image: $LAYERS gzip layers, $((LAYERS * MB)) MB uncompressed, ${COMPRESSED} MB compressed"
echo "$ROUNDS round(s), each with fresh daemons: median over rounds [min-max]"
printf '%-24s %-26s %-26s %s\n' "" "berthd" "containerd" "containerd / berthd"
printf '%-24s %-26s %-26s %s\n' "cold pull + unpack (s)" "$(spread '$1 / 1000')" "$(spread '$2 / 1000')" "$(spread '$2 / $1')"
printf '%-24s %-26s %-26s %s\n' "warm, content kept (s)" "$(spread '$3 / 1000')" "$(spread '$4 / 1000')" "$(spread '$4 / $3')"
printf '%-24s %-26s %-26s\n' "idle RSS (VmRSS, MB)" "$(spread '$5 / 1024')" "$(spread '$6 / 1024')"
printf '%-24s %-26s %-26s\n' "peak RSS (VmHWM, MB)" "$(spread '$7 / 1024')" "$(spread '$8 / 1024')"
echo "(ratio > 1 means berthd is faster)"
