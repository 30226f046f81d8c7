# bench/lib.sh — setup shared by bench/run.sh, bench/many.sh,
# bench/netrun.sh and bench/docker-run.sh; source it after setting BENCH
# (a short name: the temporary directory and the ctr namespace are named
# after it).
#
# bench_setup builds Berth, makes a one-layer busybox image from
# /bin/busybox (hack/mkimage) and loads it into a private berthd, a
# private containerd (restrict_oom_score_adj = true) and a private Podman
# store, all under one temporary directory WORK with HTTP(S)_PROXY
# pointing at a dead loopback port. It sets B (the berth CLI), C (ctr),
# IMAGE, BERTHD_PID and CONTAINERD_PID. At exit every container is
# removed, every daemon stopped by PID, any other process with an
# argument under WORK killed by PID (and named), every mount under WORK
# unmounted and WORK, the ctr namespace's cgroup, Podman's libpod_parent
# where the run made it and any cgroup in CGROUPS (exact paths)
# removed; a caller's bench_cleanup_more runs first, its
# bench_cleanup_after once containers and daemons are gone. A caller may
# set BERTHD_CONFIG (berthd's --config, default /dev/null) and
# PODMAN_FLAGS (extra podman global flags) before bench_setup, and
# BERTHD_ONLY=1 to start berthd alone (no containerd, no Podman store).
#
# docker_setup, where dockerd is installed, starts a private dockerd too
# (its own data root, exec root, pidfile, socket and cgroup parent under
# WORK, no bridge, no iptables) and loads the image into it from a docker
# save archive `berth save` writes; it sets D (the docker CLI) or, when
# dockerd is missing, leaves D empty and says Docker is skipped.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "/tmp/berth-bench-$BENCH-XXXXXX")
CTR_NS=berth-bench-$BENCH
PIDS=()
CGROUPS=()
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=
# Podman with cgroupfs makes libpod_parent (containers) and
# libpod_parent/conmon (conmons) in every hierarchy: the ones that are not
# there now are removed at exit, children first.
for d in /sys/fs/cgroup/*/; do
	[ -e "${d}libpod_parent/conmon" ] || CGROUPS+=("${d}libpod_parent/conmon")
	[ -e "${d}libpod_parent" ] || CGROUPS+=("${d}libpod_parent")
done

bench_cleanup() {
	set +e
	declare -F bench_cleanup_more >/dev/null && bench_cleanup_more
	[ -S "$WORK/berthd.sock" ] && ids=$("$WORK/bin/berth" --address "$WORK/berthd.sock" ps -a -q 2>/dev/null) && [ -n "$ids" ] &&
		"$WORK/bin/berth" --address "$WORK/berthd.sock" rm -f $ids >/dev/null 2>&1
	if [ -S "$WORK/containerd.sock" ]; then
		for id in $(ctr --address "$WORK/containerd.sock" --namespace "$CTR_NS" containers ls -q 2>/dev/null); do
			ctr --address "$WORK/containerd.sock" --namespace "$CTR_NS" task delete -f "$id" >/dev/null 2>&1
			ctr --address "$WORK/containerd.sock" --namespace "$CTR_NS" containers delete "$id" >/dev/null 2>&1
		done
	fi
	if [ -d "$WORK/podman" ]; then
		podman_cmd rm -a -f -t 0 >/dev/null 2>&1
		podman_cmd rmi -a -f >/dev/null 2>&1
	fi
	[ -S "$WORK/docker.sock" ] && ids=$("${D[@]}" ps -a -q 2>/dev/null) && [ -n "$ids" ] && "${D[@]}" rm -f $ids >/dev/null 2>&1
	# dockerd stops the containerd it started when it gets SIGTERM.
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Anything still running with an argument under WORK (a shim, a
	# conmon) is this run's: say so and kill it by PID.
	local p c stray=()
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		[[ $c == *"$WORK/"* ]] && stray+=("${p#/proc/}")
	done
	if [ ${#stray[@]} -gt 0 ]; then
		echo "processes of the run still running, killed: ${stray[*]}" >&2
		kill -KILL "${stray[@]}" 2>/dev/null
		sleep 0.5
	fi
	[ -n "${DOCKER_RUNDIR:-}" ] && rmdir "$DOCKER_RUNDIR/plugins" "$DOCKER_RUNDIR" 2>/dev/null
	grep -F " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
	# ctr leaves its namespace's cgroup directory behind.
	for d in /sys/fs/cgroup/*/"$CTR_NS" /sys/fs/cgroup/"$CTR_NS" "${CGROUPS[@]}"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	declare -F bench_cleanup_after >/dev/null && bench_cleanup_after
	rm -rf "$WORK"
}
trap bench_cleanup EXIT

podman_cmd() {
	podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --tmpdir "$WORK/podman/tmp" \
		--cgroup-manager=cgroupfs --runtime runc --storage-driver overlay ${PODMAN_FLAGS[@]+"${PODMAN_FLAGS[@]}"} "$@"
}
# now_ns prints the time in ns from bash's own clock. For short runs, time
# with `now; t0=$NOW` instead: that forks nothing, where $(now_ns) forks
# a subshell and date would add its whole start (about a millisecond)
# to what is timed.
now() { NOW=$((${EPOCHREALTIME/[.,]/} * 1000)); }
now_ns() { now && echo "$NOW"; }

# median_range X... : "median min max" of the numbers.
median_range() {
	printf '%s\n' "$@" | grep . | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s", (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2, a[1], a[NR]}'
}

# state_tmpfs DIR... mounts a tmpfs on each DIR (made if missing): each
# system's state directory (bundles, runtime state, sockets), which all of
# them keep under /run by default (/run/berth, /run/containerd,
# /run/containers/storage, /run/docker) and which runc under containerd and
# Podman keeps there whatever their configuration. STATE_ON_DISK=1 leaves
# them on disk under WORK. bench_cleanup unmounts them.
state_tmpfs() {
	[ -z "${STATE_ON_DISK:-}" ] || return 0
	local d
	for d in "$@"; do
		mkdir -p "$d"
		mount -t tmpfs -o mode=0711 tmpfs "$d"
	done
}

bench_setup() {
	echo "== building berth and the image"
	(cd "$REPO_ROOT" && make build >/dev/null && cp -r bin "$WORK/bin")
	(cd "$REPO_ROOT" && env -u HTTP_PROXY -u HTTPS_PROXY go run ./hack/mkimage --oci-archive "$WORK/busybox.tar" --ref localhost/bench/busybox:1)
	IMAGE=localhost/bench/busybox:1

	if [ -n "${BERTHD_ONLY:-}" ]; then echo "== starting berthd"; else echo "== starting berthd and containerd"; fi
	state_tmpfs "$WORK/berth/state" "$WORK/containerd/state" "$WORK/podman/run"
	"$WORK/bin/berthd" --root "$WORK/berth/root" --state "$WORK/berth/state" --address "$WORK/berthd.sock" \
		--config "${BERTHD_CONFIG:-/dev/null}" --log-level warn >"$WORK/berthd.log" 2>&1 &
	BERTHD_PID=$!
	PIDS+=("$BERTHD_PID")
	[ -n "${BERTHD_ONLY:-}" ] || containerd_start
	for _ in $(seq 100); do [ -S "$WORK/berthd.sock" ] && { [ -n "${BERTHD_ONLY:-}" ] || [ -S "$WORK/containerd.sock" ]; } && break; sleep 0.1; done
	B=("$WORK/bin/berth" --address "$WORK/berthd.sock")
	C=(ctr --address "$WORK/containerd.sock" --namespace "$CTR_NS")

	echo "== loading the image into each"
	"${B[@]}" load -i "$WORK/busybox.tar" >/dev/null
	[ -z "${BERTHD_ONLY:-}" ] || return 0
	"${C[@]}" images import "$WORK/busybox.tar" >/dev/null
	"${C[@]}" images ls -q | grep -q bench/busybox || { echo "ctr did not import the image" >&2; exit 1; }
	mkdir -p "$WORK/podman"
	podman_cmd load -i "$WORK/busybox.tar" >/dev/null 2>&1
}

containerd_start() {
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
	CONTAINERD_PID=$!
	PIDS+=("$CONTAINERD_PID")
}

# wait_api NAME LOG CLI... waits up to 30 s for `CLI... version` to
# answer; otherwise it says NAME did not start, with LOG's tail, and
# exits.
wait_api() {
	local name=$1 log=$2 i
	shift 2
	for i in $(seq 150); do
		"$@" version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "$name did not start:" >&2
	tail -5 "$log" >&2
	exit 1
}

docker_setup() {
	D=()
	if ! command -v dockerd >/dev/null; then
		echo "== dockerd not installed: Docker skipped"
		return 0
	fi
	local cli=/usr/local/bin/docker
	[ -x "$cli" ] || cli=$(command -v docker)
	echo "== starting dockerd ($(dockerd --version | cut -d, -f1)), CLI $("$cli" --version | cut -d, -f1 | awk '{print $3}')"
	local cg=berth-bench-$BENCH-docker-$$
	for d in /sys/fs/cgroup/*/; do CGROUPS+=("$d$cg"); done
	mkdir -p "$WORK/docker"
	state_tmpfs "$WORK/docker/exec"
	# dockerd 20.10 writes its trust key to /etc/docker unless told, and
	# makes /run/docker/plugins whatever its roots: removed at exit when
	# this run made them.
	printf '{"deprecated-key-path": "%s"}\n' "$WORK/docker/key.json" >"$WORK/docker/daemon.json"
	[ -e /run/docker ] || DOCKER_RUNDIR=/run/docker
	dockerd --config-file "$WORK/docker/daemon.json" --data-root "$WORK/docker/root" --exec-root "$WORK/docker/exec" \
		--pidfile "$WORK/docker/dockerd.pid" -H "unix://$WORK/docker.sock" --cgroup-parent "/$cg" \
		--bridge=none --iptables=false --ip-masq=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
	PIDS+=($!)
	D=("$cli" -H "unix://$WORK/docker.sock")
	wait_api dockerd "$WORK/dockerd.log" "${D[@]}"
	"${B[@]}" save --format docker -o "$WORK/busybox-docker.tar" "$IMAGE"
	"${D[@]}" load -i "$WORK/busybox-docker.tar" >/dev/null
}
