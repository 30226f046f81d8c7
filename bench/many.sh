#!/usr/bin/env bash
# bench/many.sh — N detached containers at once: berth (berthd +
# berth-shim + berth-runtime) against containerd (`ctr run -d`, runc) and
# Podman (`podman run -d`, conmon + runc), in one run, on the same local
# busybox image (bench/lib.sh sets the three up).
#
# Per round and system: start N `sleep` containers with P commands in
# flight, measure the supervisors' PSS with all N running, stop them
# (SIGKILL at once: `stop -t 0`; `ctr task delete -f`) and remove them
# (`rm`; `ctr container delete`), P in flight again. It reports the wall
# time of each phase; the daemon's peak RSS over the round (VmHWM, reset
# through clear_refs) and CPU seconds (berthd, containerd; Podman has
# none: its conmons' CPU, read from the cgroup `--cgroup-parent` puts
# them in); the CPU of the CLI processes (berth, ctr, podman); and the
# supervisors' PSS per container (/proc/PID/smaps_rollup). The summary
# gives medians over rounds with their range and ratios to berth.
#
# Usage: [N=100] [P=10] [ROUNDS=3] bench/many.sh   (ROUNDS=1 N=20 is quick)
# Needs root, go, containerd + ctr, podman, runc, /bin/busybox.
set -euo pipefail

N=${N:-100}
P=${P:-10}
ROUNDS=${ROUNDS:-3}
BENCH=many
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
SYSTEMS="berth ctr podman"
# Podman's containers and conmons go under this cgroup parent.
PODMAN_CG=/berth-bench-many-$$
for d in /sys/fs/cgroup/*/; do CGROUPS+=("$d${PODMAN_CG#/}/conmon" "$d${PODMAN_CG#/}"); done
bench_setup

PODMAN_RUN=(run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent "$PODMAN_CG")
start_berth() { "${B[@]}" run -d --network none --name "$1" "$IMAGE" sleep 1000000; }
stop_berth() { "${B[@]}" stop -t 0 "$1"; }
rm_berth() { "${B[@]}" rm "$1"; }
start_ctr() { "${C[@]}" run -d "$IMAGE" "$1" sleep 1000000; }
stop_ctr() { "${C[@]}" task delete -f "$1"; }
rm_ctr() { "${C[@]}" containers delete "$1"; }
start_podman() { podman_cmd "${PODMAN_RUN[@]}" --name "$1" "$IMAGE" sleep 1000000; }
stop_podman() { podman_cmd stop -t 0 "$1"; }
rm_podman() { podman_cmd rm "$1"; }

# inflight FN NAME... : FN NAME for every NAME, P at a time; fails when
# one does (its output is in $WORK/errors).
inflight() {
	local fn=$1 n=0 fail=0 x
	shift
	for x; do
		if ((n >= P)); then wait -n || fail=1; n=$((n - 1)); fi
		$fn "$x" >/dev/null 2>>"$WORK/errors" &
		n=$((n + 1))
	done
	while ((n > 0)); do wait -n || fail=1; n=$((n - 1)); done
	((fail == 0)) || { echo "many: $fn failed:" >&2; tail -5 "$WORK/errors" >&2; exit 1; }
}

# cpu_ticks PID : its user+system CPU in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# children_ticks : the CPU of this shell's reaped descendants.
children_ticks() { awk '{sub(/.*\) /, ""); print $14 + $15}' /proc/$$/stat; }
# conmon_ns : the CPU Podman's conmons used, in ns.
conmon_ns() { cat /sys/fs/cgroup/cpuacct/"${PODMAN_CG#/}"/conmon/cpuacct.usage 2>/dev/null || echo 0; }
# supervisors SYSTEM : PIDs of the system's per-container supervisors.
supervisors() {
	local name
	case $1 in berth) name=berth-shim ;; ctr) name=containerd-shim ;; podman) name=conmon ;; esac
	for p in $(pgrep -x "$name"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$WORK/" && echo "$p"
	done
}
pss_kb() {
	local sum=0 p
	for p in "$@"; do sum=$((sum + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"))); done
	echo "$sum"
}
daemon_pid() { case $1 in berth) echo "$BERTHD_PID" ;; ctr) echo "$CONTAINERD_PID" ;; podman) echo "" ;; esac; }

# one warm-up each
for s in $SYSTEMS; do inflight "start_$s" warm; inflight "stop_$s" warm; inflight "rm_$s" warm; done

NAMES=()
for ((i = 0; i < N; i++)); do NAMES+=("m$i"); done
declare -A RES
printf '%-6s %-7s %8s %8s %8s %9s %9s %9s %10s\n' round system start_s stop_s rm_s peak_MB daemon_s cli_s pss_kB
for ((r = 1; r <= ROUNDS; r++)); do
	for s in $SYSTEMS; do
		dp=$(daemon_pid "$s")
		[[ -n $dp ]] && echo 5 >"/proc/$dp/clear_refs" # reset VmHWM
		d0=$([[ -n $dp ]] && cpu_ticks "$dp" || conmon_ns)
		c0=$(children_ticks)
		t0=$(now_ns)
		inflight "start_$s" "${NAMES[@]}"
		t1=$(now_ns)
		sleep 2 # let start-up garbage settle as an idle supervisor's would
		mapfile -t SUP < <(supervisors "$s")
		((${#SUP[@]} == N)) || { echo "many: $s: ${#SUP[@]} supervisors for $N containers" >&2; exit 1; }
		pss=$(($(pss_kb "${SUP[@]}") / N))
		t2=$(now_ns)
		inflight "stop_$s" "${NAMES[@]}"
		t3=$(now_ns)
		inflight "rm_$s" "${NAMES[@]}"
		t4=$(now_ns)
		if [[ -n $dp ]]; then
			dcpu=$(awk -v a="$d0" -v b="$(cpu_ticks "$dp")" 'BEGIN {printf "%.2f", (b - a) / 100}')
			peak=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$dp/status")
		else
			dcpu=$(awk -v a="$d0" -v b="$(conmon_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
			peak=-
		fi
		ccpu=$(awk -v a="$c0" -v b="$(children_ticks)" 'BEGIN {printf "%.2f", (b - a) / 100}')
		row="$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" 'BEGIN {printf "%.2f %.2f %.2f", (b-a)/1e9, (d-c)/1e9, (e-d)/1e9}') $peak $dcpu $ccpu $pss"
		# shellcheck disable=SC2086
		printf '%-6s %-7s %8s %8s %8s %9s %9s %9s %10s\n' "$r" "$s" $row
		RES[$s]+="$row;"
	done
done

echo
echo "== $N containers, $P in flight, $ROUNDS rounds: median [min-max]; ratio = berth / other (median of per-round ratios) =="
python3 - "$ROUNDS" "${RES[berth]}" "${RES[ctr]}" "${RES[podman]}" <<'PY'
import statistics, sys
cols = ["start s", "stop s", "rm s", "daemon peak RSS MB", "daemon CPU s", "CLI CPU s", "supervisor PSS kB/ctr"]
names = {"berth": "berth", "ctr": "containerd", "podman": "podman"}
res = {}
for s, raw in zip(names, sys.argv[2:5]):
    res[s] = [[None if v == "-" else float(v) for v in row.split()] for row in raw.split(";") if row.strip()]
def fmt(xs):
    xs = [x for x in xs if x is not None]
    if not xs: return "-"
    return f"{statistics.median(xs):g} [{min(xs):g}-{max(xs):g}]"
print(f"{'':24}" + "".join(f"{names[s]:>24}" for s in names) + f"{'berth/containerd':>20}{'berth/podman':>16}")
for i, c in enumerate(cols):
    line = f"{c:24}" + "".join(f"{fmt([r[i] for r in res[s]]):>24}" for s in names)
    for o in ("ctr", "podman"):
        rs = [b[i] / x[i] for b, x in zip(res["berth"], res[o]) if b[i] is not None and x[i]]
        line += f"{statistics.median(rs):.2f}".rjust(20 if o == 'ctr' else 16) if rs else "-".rjust(20 if o == 'ctr' else 16)
    print(line)
print("podman's daemon CPU is its conmons' (Podman has no daemon); its CLI CPU holds what a daemon does for the others.")
PY
