#!/usr/bin/env bash
# conformance/run.sh — run the OCI runtime-tools validation suite against
# runc and berth-runtime in the same run and compare them.
#
#   sudo conformance/run.sh                 # exit 1 if berth fails a check runc passes
#   sudo conformance/run.sh --report-only   # just print
#   sudo TESTS="create kill state" conformance/run.sh
#
# Environment: BERTH_RUNTIME (default <repo>/bin/berth-runtime), RUNC
# (default /usr/sbin/runc), RUNTIME_TOOLS_VERSION (a module version of
# github.com/opencontainers/runtime-tools; default: the pinned one below),
# TESTS (space-separated validation names; default all), TEST_TIMEOUT
# (seconds per test program, default 120), CONFORMANCE_MODCACHE (module
# cache kept between runs, default /tmp/berth-test-conformance-modcache),
# KEEP=1 to keep the work directory with every TAP log.
#
# Nothing fetched is written into the repository: the suite is downloaded
# through the Go module proxy into a private module cache, copied to a temp
# dir and built there.
set -euo pipefail

REPORT_ONLY=0
INSIDE=""
while [[ $# -gt 0 ]]; do
	case $1 in
	--report-only) REPORT_ONLY=1 ;;
	--inside-ns) INSIDE=$2; shift ;; # internal: run the suite for work dir $2
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (want --report-only)" >&2; exit 2 ;;
	esac
	shift
done

# tally WORK RUNTIME TEST: run one validation program and turn its TAP into
# "TEST: description<TAB>ok|fail|skip" lines in WORK/results-RUNTIME.
# Checks are keyed by description, not number: runtimetest walks Go maps,
# so the numbering changes from run to run. A description seen again in
# the same program gets " (#2)", " (#3)"... appended. Every program also
# gets a "program exits 0" check: the *_fail programs print no TAP and
# pass by exiting 0, and a program that dies half-way exits non-zero.
tally() {
	local work=$1 rt=$2 t=$3 rc=0
	local log=$work/logs/$rt/$t.tap
	mkdir -p "$work/logs/$rt"
	(cd "$work/src" && RUNTIME=$work/rt-$rt timeout --kill-after=10 "$TEST_TIMEOUT" "$work/bin/$t") >"$log" 2>&1 || rc=$?
	awk -v t="$t" -v rc="$rc" '
		/^ok / || /^not ok / {
			res = ($1 == "ok") ? "ok" : "fail"
			line = $0
			sub(/^(not )?ok [0-9]* *(- )?/, "", line)
			if (line ~ /# [Ss][Kk][Ii][Pp]/) res = "skip"
			if (line ~ /^# /) sub(/^# [A-Za-z]* */, "", line) # a skip with only a reason
			else sub(/ *# .*$/, "", line)
			if (++seen[line] > 1) line = line " (#" seen[line] ")"
			printf "%s: %s\t%s\n", t, line, res
		}
		END { printf "%s: program exits 0\t%s\n", t, (rc == 0 ? "ok" : "fail") }
	' "$log" >>"$work/results-$rt"
	if [[ $rc != 0 ]]; then
		echo "#   $rt $t: exit $rc: $(grep -v '^\s*$' "$log" | grep -v '^ *[{}.-]' | tail -1 | cut -c1-200)"
	fi
}

# run_suite WORK: every program against every runtime, in the private mount
# namespace this script re-executes itself in, with TMPDIR in the work dir:
# some checks (rootfsPropagation "shared") make container mounts propagate
# to the parent namespace, and failing programs leave bundles behind; both
# then vanish with the namespace and the work dir.
run_suite() {
	local work=$1 rt t id
	export TMPDIR=$work/tmp
	mkdir -p "$TMPDIR"
	for rt in $(cat "$work/runtimes"); do
		: >"$work/results-$rt"
		echo "# running $(wc -w <"$work/tests") validation programs against $rt"
		for t in $(cat "$work/tests"); do
			tally "$work" "$rt" "$t"
			# Force-delete whatever a failed program left under our --root.
			for id in $(ls "$work/state-$rt" 2>/dev/null); do
				"$work/rt-$rt" delete --force "$id" >/dev/null 2>&1 || true
			done
		done
	done
}

TEST_TIMEOUT=${TEST_TIMEOUT:-120}
if [[ -n $INSIDE ]]; then
	run_suite "$INSIDE"
	exit 0
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH_RUNTIME:-$REPO/bin/berth-runtime}
RUNC=${RUNC:-/usr/sbin/runc}
# runtime-tools' last tag (v0.9.0, 2019) predates its go.mod; this is the
# master commit of 2026-03-16, which builds with modules.
RT_MOD=github.com/opencontainers/runtime-tools
RT_VERSION=${RUNTIME_TOOLS_VERSION:-v0.9.1-0.20260316125833-8a4db579f5c8}
export GOMODCACHE=${CONFORMANCE_MODCACHE:-/tmp/berth-test-conformance-modcache}
export GOFLAGS="-mod=mod -buildvcs=false"

[[ $(id -u) == 0 ]] || { echo "run.sh: must run as root" >&2; exit 1; }
[[ -x $RUNC ]] || { echo "run.sh: runc not found at $RUNC" >&2; exit 1; }
[[ -x /bin/busybox ]] || { echo "run.sh: /bin/busybox (busybox-static) not found" >&2; exit 1; }
command -v jq >/dev/null || { echo "run.sh: jq not installed" >&2; exit 1; }
HAVE_BERTH=1
if [[ ! -x $BERTH ]]; then
	echo "# berth-runtime not found at $BERTH (run make build): running runc only"
	HAVE_BERTH=0
fi

WORK=$(mktemp -d /tmp/berth-test-conformance-XXXXXX)
# Bundles live below it: containers in a user namespace must traverse it.
chmod 755 "$WORK"
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "# kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# 1. Fetch and build the suite.
echo "# fetching $RT_MOD@$RT_VERSION"
DIR=$(cd "$WORK" && go mod download -json "$RT_MOD@$RT_VERSION" | jq -r .Dir)
[[ -d $DIR ]] || { echo "run.sh: download of $RT_MOD@$RT_VERSION failed" >&2; exit 1; }
cp -r "$DIR" "$WORK/src"
chmod -R u+w "$WORK/src"
rm -rf "$WORK/src/vendor" # module zips carry no vendored code; use the module cache
echo "# building runtimetest and the validation programs"
mkdir -p "$WORK/bin"
(
	cd "$WORK/src"
	go build -o "$WORK/bin/" ./validation/...
	CGO_ENABLED=0 go build -tags "netgo osusergo" -o runtimetest ./cmd/runtimetest
)

# 2. The rootfs tarball the tests unpack as their bundle: busybox with every
# applet linked, root and nobody in /etc/passwd and /etc/group.
R=$WORK/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,root,run,var}
chmod 1777 "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do
	[[ -e $R/bin/$a ]] || ln -s busybox "$R/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$R/etc/group"
rm -f "$WORK"/src/rootfs-*.tar.gz
tar -C "$R" --owner=0 --group=0 -czf "$WORK/src/rootfs-$(go env GOARCH).tar.gz" .

# 3. Each runtime runs through a wrapper that gives it a private --root, so
# the suite's containers never mix with anything else on the host.
wrap() { # name binary
	mkdir -p "$WORK/state-$1"
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$2" "$WORK/state-$1" >"$WORK/rt-$1"
	chmod +x "$WORK/rt-$1"
}
RUNTIMES=(runc)
wrap runc "$RUNC"
if [[ $HAVE_BERTH == 1 ]]; then
	RUNTIMES+=(berth)
	wrap berth "$BERTH"
fi
echo "${RUNTIMES[*]}" >"$WORK/runtimes"
echo "${TESTS:-$(ls "$WORK/bin")}" >"$WORK/tests"

# Cgroups the suite creates under fixed names; removed afterwards unless
# they were there before.
SUITE_CGROUPS=(testdir/cgrouptest/container testdir/cgrouptest testdir cgrouptest)
declare -A HAD_CGROUP
for c in "${SUITE_CGROUPS[@]}"; do
	for d in /sys/fs/cgroup/*/"$c"; do
		if [[ -d $d ]]; then HAD_CGROUP[$d]=1; fi
	done
done
TEST_TIMEOUT=$TEST_TIMEOUT unshare -m --propagation private "$0" --inside-ns "$WORK"
for c in "${SUITE_CGROUPS[@]}"; do
	for d in /sys/fs/cgroup/*/"$c"; do
		if [[ -d $d && -z ${HAD_CGROUP[$d]:-} ]]; then
			rmdir "$d" 2>/dev/null || echo "# could not remove cgroup $d left by the suite"
		fi
	done
done

# 4. Report.
count() { grep -c $'\t'"$2"'$' "$WORK/results-$1" || true; }
echo
printf '%-8s %6s %8s %6s\n' runtime ok "not ok" skip
for rt in "${RUNTIMES[@]}"; do
	printf '%-8s %6s %8s %6s\n' "$rt" "$(count "$rt" ok)" "$(count "$rt" fail)" "$(count "$rt" skip)"
done
echo
echo "checks runc fails here (see conformance/KNOWN_FAILURES.md):"
grep $'\t''fail$' "$WORK/results-runc" | cut -f1 | sed 's/^/  /' || echo "  (none)"

status=0
if [[ $HAVE_BERTH == 1 ]]; then
	echo
	"$REPO/conformance/compare.sh" "$WORK/results-runc" "$WORK/results-berth" "$REPO/conformance/REFUSALS" || status=$?
fi
if [[ $REPORT_ONLY == 1 ]]; then
	exit 0
fi
exit $status
