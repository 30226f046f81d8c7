#!/usr/bin/env bash
# conformance/compare.sh RUNC_RESULTS BERTH_RESULTS — the conformance gate.
#
# Each file holds one "program: check<TAB>ok|fail|skip" line per check, as
# run.sh tallies them. The comparison is per check:
#   - every check runc passes, berth must reach and pass: a check berth
#     fails, skips or never reached (absent from its file) is a regression;
#   - on every check runc fails or skips here, berth's result is reported
#     (ok, fail, skip or not reached) but not gated;
#   - checks only berth reached are reported.
# Exits 1 if there is a regression, 0 otherwise, 2 on bad usage.
set -euo pipefail
if [[ $# != 2 || ! -r $1 || ! -r $2 ]]; then
	echo "usage: compare.sh RUNC_RESULTS BERTH_RESULTS (readable files)" >&2
	exit 2
fi
awk -F'\t' '
	function berthres(k) { return (k in berth) ? berth[k] : "not reached" }
	FILENAME == ARGV[1] { berth[$1] = $2; next } # an empty file has no lines: not NR == FNR
	{ runc[$1] = $2; order[++n] = $1 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; b = berthres(k)
			if (runc[k] == "ok" && b != "ok") regress = regress sprintf("  %s\t%s\n", k, b)
			if (runc[k] != "ok") info = info sprintf("  %s\trunc %s, berth %s\n", k, runc[k], b)
		}
		for (k in berth) if (!(k in runc)) extra = extra sprintf("  %s\tberth %s\n", k, berth[k])
		printf "checks runc passes that berth fails, skips or never reaches:\n%s", (regress == "" ? "  (none)\n" : regress)
		printf "\nberth on the checks runc fails or skips here (reported, not gated):\n%s", (info == "" ? "  (none)\n" : info)
		if (extra != "") printf "\nchecks only berth reached (reported, not gated):\n%s", extra
		exit (regress != "")
	}
' "$2" "$1"
