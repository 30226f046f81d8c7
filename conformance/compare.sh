#!/usr/bin/env bash
# conformance/compare.sh RUNC_RESULTS BERTH_RESULTS [REFUSALS] — the
# conformance gate.
#
# Each file holds one "program: check<TAB>ok|fail|skip" line per check, as
# run.sh tallies them. The comparison is per check:
#   - every check runc passes, berth must reach and pass: a check berth
#     fails, skips or never reached (absent from its file) is a regression;
#   - on every check runc fails or skips here, berth's result is reported
#     (ok, fail, skip or not reached) but not gated;
#   - checks only berth reached are reported.
# REFUSALS lists, one "program<TAB>reason" line each, the programs whose
# config berth refuses on purpose where runc runs it (docs/runc-compat.md):
# their checks berth never reached are reported, not gated. A check berth
# reached and failed or skipped is a regression whatever the list says.
# Exits 1 if there is a regression, 0 otherwise, 2 on bad usage.
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 || ! -r $1 || ! -r $2 || ( $# == 3 && ! -r $3 ) ]]; then
	echo "usage: compare.sh RUNC_RESULTS BERTH_RESULTS [REFUSALS] (readable files)" >&2
	exit 2
fi
refusals=${3:-/dev/null}
awk -F'\t' '
	function berthres(k) { return (k in berth) ? berth[k] : "not reached" }
	FILENAME == ARGV[1] { if ($0 !~ /^#/ && NF >= 2) refused[$1] = $2; next }
	FILENAME == ARGV[2] { berth[$1] = $2; next } # an empty file has no lines: not NR == FNR
	{ runc[$1] = $2; order[++n] = $1 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; b = berthres(k)
			prog = k; sub(/: .*/, "", prog)
			if (runc[k] == "ok" && b == "not reached" && (prog in refused)) refusal = refusal sprintf("  %s\t%s\n", k, refused[prog])
			else if (runc[k] == "ok" && b != "ok") regress = regress sprintf("  %s\t%s\n", k, b)
			if (runc[k] != "ok") info = info sprintf("  %s\trunc %s, berth %s\n", k, runc[k], b)
		}
		for (k in berth) if (!(k in runc)) extra = extra sprintf("  %s\tberth %s\n", k, berth[k])
		printf "checks runc passes that berth fails, skips or never reaches:\n%s", (regress == "" ? "  (none)\n" : regress)
		printf "\nberth on the checks runc fails or skips here (reported, not gated):\n%s", (info == "" ? "  (none)\n" : info)
		if (refusal != "") printf "\nchecks berth never reached because it refuses the config on purpose (reported, not gated):\n%s", refusal
		if (extra != "") printf "\nchecks only berth reached (reported, not gated):\n%s", extra
		exit (regress != "")
	}
' "$refusals" "$2" "$1"
