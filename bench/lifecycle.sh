#!/usr/bin/env bash
# bench/lifecycle.sh — compare berth-runtime with runc and crun on this host.
#
# Measures, for each runtime, the shim-style lifecycle create → start →
# wait4 → delete of /bin/true (bench/lifecycle), exec and events --stats
# latency, peak RSS, and hyperfine of `RUNTIME run`, in two settings:
#   cgroups   the host as it is (cgroup v1 hybrid): berth and runc only,
#             since crun refuses hybrid cgroups;
#   cgroup2ns a private mount namespace whose /sys/fs/cgroup is a fresh
#             cgroup2 mount: berth, runc and crun (--cgroup-manager=disabled).
# The whole measurement is repeated ROUNDS times; it ends with a table of
# each runtime's median time and of the ratios berth/runc and berth/crun:
# per round the ratio of the per-iteration medians, then the median over
# rounds with its range [min-max] (one round's figure alone moves by
# ±0.1 on this VM). Needs root. Environment:
#   BERTH_RUNTIME (default <repo>/bin/berth-runtime), RUNC, CRUN,
#   ROUNDS (default 3), N (lifecycle/exec/events iterations per round,
#   default 100), WARMUP (default 5), HYPERFINE_RUNS (default 30).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH_RUNTIME:-$REPO/bin/berth-runtime}
RUNC=${RUNC:-/usr/sbin/runc}
CRUN=${CRUN:-/usr/bin/crun}
N=${N:-100}
WARMUP=${WARMUP:-5}
HYPERFINE_RUNS=${HYPERFINE_RUNS:-30}
ROUNDS=${ROUNDS:-3}

# measure SETTING WORK RUNTIME_SPEC... : the Go driver, then hyperfine of
# `run` for the same runtimes. Each RUNTIME_SPEC is "name=path [flags]".
measure() {
	local setting=$1 work=$2
	shift 2
	local args=() hf=() spec name rest bin flags
	for spec in "$@"; do
		args+=(-runtime "$spec")
	done
	"$work/lifecycle" -setting "$setting" -n "$N" -warmup "$WARMUP" -workdir "$work/lc-$setting" "${args[@]}" |
		tee "$work/$setting.out"
	rm -rf "$work/lc-$setting"

	local bundle=$work/hf-bundle-$setting cg=/berth-test-hf-$$-$setting
	"$work/lifecycle" -make-bundle "$bundle" -cgroups-path "$cg"
	for spec in "$@"; do
		name=${spec%%=*}
		rest=${spec#*=}
		bin=${rest%% *}
		flags=""
		[[ $rest == *" "* ]] && flags=${rest#* }
		[[ -x $bin ]] || continue
		mkdir -p "$work/hf-root-$setting-$name"
		hf+=(-n "$name" "$bin $flags --root $work/hf-root-$setting-$name run --bundle $bundle berth-test-hf-$$-$name")
	done
	echo
	echo "== hyperfine: RUNTIME run /bin/true ($setting) =="
	hyperfine -N --style basic --warmup 3 --runs "$HYPERFINE_RUNS" \
		--export-json "$work/hf-$setting.json" "${hf[@]}" || echo "# hyperfine failed in $setting"
	if [[ -f $work/hf-$setting.json ]]; then
		jq -r --arg s "$setting" '.results[] | "RESULT \($s) \(.command) run \(.mean*1000) \(.median*1000) \(.times|length)"' \
			"$work/hf-$setting.json" >>"$work/$setting.out"
	fi
	rm -rf "$bundle"
	# Runtimes remove their cgroups; remove any they left, by exact path.
	local d
	for d in /sys/fs/cgroup/*/"${cg#/}" /sys/fs/cgroup/"${cg#/}"; do
		if [[ -d $d ]]; then
			echo "# leftover cgroup $d (removing)"
			rmdir "$d" || true
		fi
	done
}

# Re-executed inside `unshare -m`: mount a fresh cgroup2 on /sys/fs/cgroup.
if [[ ${1:-} == --inside-cgroup2ns ]]; then
	work=$2
	mount --make-rprivate /
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	specs=("runc=$RUNC" "crun=$CRUN --cgroup-manager=disabled")
	[[ -x $BERTH ]] && specs=("berth=$BERTH" "${specs[@]}")
	measure cgroup2ns "$work" "${specs[@]}"
	exit 0
fi

[[ $(id -u) == 0 ]] || { echo "lifecycle.sh: must run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "lifecycle.sh: hyperfine not installed" >&2; exit 1; }
command -v jq >/dev/null || { echo "lifecycle.sh: jq not installed" >&2; exit 1; }
if [[ ! -x $BERTH ]]; then
	echo "# berth-runtime not found at $BERTH (run make build): measuring the others only"
fi

WORK=$(mktemp -d /tmp/berth-test-benchsh-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
(cd "$REPO" && go build -o "$WORK/lifecycle" ./bench/lifecycle)

specs=("runc=$RUNC")
[[ -x $BERTH ]] && specs=("berth=$BERTH" "${specs[@]}")
for ((round = 1; round <= ROUNDS; round++)); do
	echo "######## round $round of $ROUNDS"
	echo "######## setting: cgroups (host cgroup v1 hybrid; crun cannot run here)"
	measure cgroups "$WORK" "${specs[@]}"
	echo
	echo "######## setting: cgroup2ns (private mount ns, fresh cgroup2 on /sys/fs/cgroup)"
	unshare -m "$0" --inside-cgroup2ns "$WORK"
	cat "$WORK"/cgroups.out "$WORK"/cgroup2ns.out >"$WORK/round-$round.out"
done

echo
echo "######## summary"
"$WORK/lifecycle" -summarize "$WORK"/round-*.out
echo
echo "peak RSS (MiB, largest ru_maxrss over the runtime's subcommands):"
cat "$WORK"/round-*.out | awk '
	$1 == "RSS" { k = $2 " " $3; if ($5 > m[k]) m[k] = $5 }
	END { for (k in m) printf "  %-22s %.1f\n", k, m[k] / 1024 }' | sort
