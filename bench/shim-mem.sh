#!/usr/bin/env bash
# bench/shim-mem.sh — per-container supervisor memory: berth-shim against
# Podman's conmon and containerd's containerd-shim-runc-v2.
#
# Per round and per system it starts N containers running `sleep`, each
# under its own supervisor, then sums the supervisors' PSS from
# /proc/PID/smaps_rollup (a page shared by k processes counts 1/k, so the
# shared text counts once) and divides by N. It prints each round, then
# the median over rounds with its range, and the ratios berth/conmon and
# berth/containerd. berth-shim is measured twice: "berth-active" 2 s after
# the start, as the others, and "berth" once every shim has had nothing
# to do for its idle time (10 s, berthd's default) and handed its
# descriptors to its idle program (docs/shim.md), the state a sleeping
# container's shim spends its life in. Everything it starts is removed by exact ID, PID and
# path, also on failure. Needs root, /bin/busybox (busybox-static), jq,
# and `make build` first. Environment:
#   N (containers, default 100), ROUNDS (default 3),
#   RUNTIME (the OCI runtime berth-shim drives, default bin/berth-runtime),
#   BERTH_MODE (for bin/berth-runtime: "in-process", the default, runs it
#     in the shim's process as berthd has it; "binary" runs its commands),
#   SYSTEMS (default "berth conmon containerd"; a missing tool is skipped).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-100}
ROUNDS=${ROUNDS:-3}
RUNTIME=${RUNTIME:-$REPO/bin/berth-runtime}
SHIM=$REPO/bin/berth-shim
SYSTEMS=${SYSTEMS:-berth conmon containerd}
BERTH_MODE=${BERTH_MODE:-in-process}
# The flags berthd gives a shim driving its own berth-runtime.
SHIM_FLAGS=()
if [[ $RUNTIME == "$REPO/bin/berth-runtime" ]]; then
	SHIM_FLAGS=(--fifo-start)
	[[ $BERTH_MODE == in-process ]] && SHIM_FLAGS+=(--in-process)
fi
[[ $(id -u) == 0 ]] || { echo "shim-mem: needs root" >&2; exit 1; }
for f in "$SHIM" "$RUNTIME"; do
	[[ -x $f ]] || { echo "shim-mem: no $f (run make build)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/berth-shim-mem.XXXXXX)
TAG=bsm$$
CTRD_PID=""
cleanup() {
	set +e
	berth_down
	podman_down
	podman_final
	containerd_down
	containerd_final
	rm -rf "$WORK"
}
trap cleanup EXIT

# A busybox bundle running sleep, shared by every berth and containerd
# container (read-only use: nothing writes to it).
go build -o "$WORK/lifecycle" "$REPO/bench/lifecycle"
"$WORK/lifecycle" -make-bundle "$WORK/bundle"
jq '.process.args = ["sleep", "1000000"] | del(.linux.cgroupsPath)' "$WORK/bundle/config.json" >"$WORK/config.json"
mv "$WORK/config.json" "$WORK/bundle/config.json"

# running PID: the process exists and is no zombie (this VM's init reaps
# orphans slowly; a zombie holds no memory).
running() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# pss PID... : the summed PSS of the PIDs in kB.
pss() {
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")
		sum=$((sum + v))
	done
	echo "$sum"
}

# --- berth-shim: one `berth-shim start` per container ---
berth_up() {
	mkdir -p "$WORK/berth"
	local i
	for ((i = 0; i < N; i++)); do
		"$SHIM" start --id "$TAG-b$i" --bundle "$WORK/bundle" --runtime "$RUNTIME" \
			--runtime-root "$WORK/berth/root" --state "$WORK/berth/s$i" \
			--log "$WORK/berth/l$i.log" --start "${SHIM_FLAGS[@]}" >/dev/null
	done
}
berth_pids() {
	local i
	for ((i = 0; i < N; i++)); do jq -r .shim_pid "$WORK/berth/s$i/shim.json"; done
}
berth_down() {
	[[ -d $WORK/berth ]] || return 0
	local d pid i
	for d in "$WORK"/berth/s*; do
		[[ -f $d/shim.json ]] || continue
		pid=$(jq -r .shim_pid "$d/shim.json")
		"$RUNTIME" --root "$WORK/berth/root" delete --force "$(jq -r .id "$d/shim.json")" 2>/dev/null
		kill "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do running "$pid" || break; sleep 0.1; done
	done
	rm -rf "$WORK/berth"
}

# --- Podman + conmon, on a local image made from the same busybox ---
# crun refuses this host's hybrid cgroups: Podman runs runc.
PODMAN=(podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --cgroup-manager=cgroupfs --events-backend=file --runtime runc)
podman_up() {
	mkdir -p "$WORK/podman"
	if ! "${PODMAN[@]}" image exists "localhost/$TAG:latest" 2>/dev/null; then
		tar -C "$WORK/bundle/rootfs" -cf "$WORK/rootfs.tar" .
		"${PODMAN[@]}" import "$WORK/rootfs.tar" "localhost/$TAG:latest" >/dev/null 2>&1
	fi
	local i
	for ((i = 0; i < N; i++)); do
		"${PODMAN[@]}" run -d --name "$TAG-p$i" --network none \
			--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
			"localhost/$TAG:latest" sleep 1000000 >/dev/null
	done
}
podman_pids() {
	local i
	for ((i = 0; i < N; i++)); do "${PODMAN[@]}" inspect --format '{{.State.ConmonPid}}' "$TAG-p$i"; done
}
podman_down() {
	[[ -d $WORK/podman ]] || return 0
	local i
	for ((i = 0; i < N; i++)); do "${PODMAN[@]}" rm -f -t 0 "$TAG-p$i" >/dev/null 2>&1; done
}
podman_final() {
	[[ -d $WORK/podman ]] || return 0
	"${PODMAN[@]}" rmi -f "localhost/$TAG:latest" >/dev/null 2>&1 || true
	"${PODMAN[@]}" system reset -f >/dev/null 2>&1 || true
	umount "$WORK/podman/root/overlay" 2>/dev/null || true
	rm -rf "$WORK/podman"
}

# --- containerd: its own root, state, socket; ctr run -d --rootfs ---
CTRD=$WORK/containerd
CTR=(ctr --address "$CTRD/sock" --namespace "$TAG")
containerd_start() {
	[[ -n $CTRD_PID ]] && return 0
	mkdir -p "$CTRD"
	cat >"$CTRD/config.toml" <<EOT
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
[grpc]
  address = "$CTRD/sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
EOT
	HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
		containerd --config "$CTRD/config.toml" >"$CTRD/log" 2>&1 &
	CTRD_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		"${CTR[@]}" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "shim-mem: containerd did not start; its log:" >&2
	tail -5 "$CTRD/log" >&2
	return 1
}
containerd_up() {
	containerd_start
	local i
	for ((i = 0; i < N; i++)); do
		"${CTR[@]}" run -d --rootfs "$WORK/bundle/rootfs" "$TAG-c$i" /bin/sleep 1000000 >/dev/null
	done
}
containerd_pids() {
	# The shims are containerd-shim-runc-v2 processes given our socket.
	local p
	for p in $(pgrep -x containerd-shim); do
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "-address $CTRD/sock" && echo "$p"
	done
}
containerd_down() {
	[[ -n $CTRD_PID ]] || return 0
	local i p shims
	shims=$(containerd_pids)
	for ((i = 0; i < N; i++)); do
		"${CTR[@]}" task kill -s SIGKILL "$TAG-c$i" >/dev/null 2>&1
	done
	for ((i = 0; i < N; i++)); do
		"${CTR[@]}" task delete -f "$TAG-c$i" >/dev/null 2>&1
		"${CTR[@]}" container delete "$TAG-c$i" >/dev/null 2>&1
	done
	# The shims exit on their own once their task is deleted.
	for p in $shims; do
		for ((i = 0; i < 100; i++)); do running "$p" || break; sleep 0.1; done
	done
	return 0
}
containerd_final() {
	[[ -n $CTRD_PID ]] || return 0
	kill "$CTRD_PID" 2>/dev/null || true
	wait "$CTRD_PID" 2>/dev/null || true
	CTRD_PID=""
	umount -R "$CTRD/state" 2>/dev/null || true
	rm -rf "$CTRD"
	# ctr puts containers in /NAMESPACE/ID: the namespace's cgroups stay.
	rmdir /sys/fs/cgroup/*/"$TAG" /sys/fs/cgroup/"$TAG" 2>/dev/null || true
}

have() {
	case $1 in
	berth) return 0 ;;
	conmon) command -v podman >/dev/null && command -v conmon >/dev/null ;;
	containerd) command -v containerd >/dev/null && command -v ctr >/dev/null && command -v containerd-shim-runc-v2 >/dev/null ;;
	esac
}

# measure NAME: the summed PSS of the supervisors in P, per container.
measure() {
	total=$(pss "${P[@]}")
	per=$(awk -v t="$total" -v n="$N" 'BEGIN {printf "%.0f", t / n}')
	echo "round $r  $1  total ${total} kB  per container ${per} kB"
	RES[$1]+="$per "
}

# await_idle PID...: wait (at most a minute) until every shim runs its
# idle program, then a second more.
await_idle() {
	local i p busy
	for ((i = 0; i < 600; i++)); do
		busy=0
		for p in "$@"; do
			[[ $(tr '\0' ' ' <"/proc/$p/cmdline") == "berth-shim idle "* ]] || { busy=1; break; }
		done
		((busy)) || { sleep 1; return 0; }
		sleep 0.1
	done
	echo "shim-mem: the shims did not go idle" >&2
	exit 1
}

declare -A RES
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SYSTEMS; do
		have "$s" || { echo "# $s: not installed, skipped"; continue; }
		case $s in berth) up=berth_up pids=berth_pids down=berth_down ;;
		conmon) up=podman_up pids=podman_pids down=podman_down ;;
		containerd) up=containerd_up pids=containerd_pids down=containerd_down ;;
		esac
		$up
		sleep 2 # let start-up garbage settle as an idle supervisor's would
		mapfile -t P < <($pids)
		if [[ ${#P[@]} != "$N" ]]; then
			echo "shim-mem: $s: found ${#P[@]} supervisors for $N containers" >&2
			exit 1
		fi
		name=$s
		[[ $s == berth ]] && name=berth-active
		measure "$name"
		if [[ $s == berth ]]; then
			await_idle "${P[@]}"
			measure berth
		fi
		$down
	done
done
podman_final
containerd_final

# median and range of a list of numbers
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.0f %s %s", m, a[1], a[NR]}'; }
echo
echo "== per-container supervisor PSS, N=$N, $ROUNDS rounds: median [min-max] =="
declare -A MED
for s in berth-active $SYSTEMS; do
	[[ -n ${RES[$s]:-} ]] || continue
	read -r m lo hi <<<"$(stats "${RES[$s]}")"
	printf "%-11s %6s kB  [%s-%s]\n" "$s" "$m" "$lo" "$hi"
	MED[$s]=$m
done
for b in berth berth-active; do
	for o in conmon containerd; do
		[[ -n ${MED[$b]:-} && -n ${MED[$o]:-} ]] || continue
		awk -v b="${MED[$b]}" -v o="${MED[$o]}" -v bn="$b" -v n="$o" 'BEGIN {printf "%s/%-11s %.2f\n", bn, n, b / o}'
	done
done
