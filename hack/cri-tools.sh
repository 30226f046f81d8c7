#!/usr/bin/env bash
# hack/cri-tools.sh — build crictl and critest of kubernetes-sigs/cri-tools
# into a directory, from the Go module proxy (nothing fetched goes into the
# repository).
#
#   hack/cri-tools.sh [DIR]      # default <repo>/.cache/cri-tools/bin
#
# crictl comes from `go install sigs.k8s.io/cri-tools/cmd/crictl@VERSION`;
# critest from `go test -c ./cmd/critest` in a copy of the module's
# directory after `go mod download` (as conformance/run.sh fetches
# runtime-tools), with the modules in CONFORMANCE_MODCACHE (default
# /tmp/berth-test-conformance-modcache). Both get VERSION in
# `--version`. A DIR already holding both for VERSION (DIR/.version) is
# left as it is, so a second run takes well under a second.
#
# Environment: CRI_TOOLS_VERSION (default v1.37.0). cri-tools v1.37.0's
# go.mod says go 1.26.6, which this machine's Go (1.26.8) builds; should
# a version need a newer Go than the one installed, the script exports
# GOTOOLCHAIN=go1.27.3 (the toolchain the Go module proxy serves) and says
# so.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${CRI_TOOLS_VERSION:-v1.37.0}
DIR=${1:-$REPO/.cache/cri-tools/bin}
MOD=sigs.k8s.io/cri-tools
NEWER_TOOLCHAIN=go1.27.3
export GOMODCACHE=${CONFORMANCE_MODCACHE:-/tmp/berth-test-conformance-modcache}
export GOFLAGS="-mod=mod -buildvcs=false"

case $DIR in -*) echo "cri-tools.sh: unknown option $DIR (usage: hack/cri-tools.sh [DIR])" >&2; exit 2 ;; esac
command -v go >/dev/null || { echo "cri-tools.sh: go not found in PATH" >&2; exit 1; }
command -v jq >/dev/null || { echo "cri-tools.sh: jq not installed" >&2; exit 1; }

if [[ -x $DIR/crictl && -x $DIR/critest && "$(cat "$DIR/.version" 2>/dev/null)" == "$VERSION" ]]; then
	echo "cri-tools.sh: crictl and critest $VERSION already in $DIR"
	exit 0
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
WORK=$(mktemp -d /tmp/berth-cri-tools-XXXXXX)
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

echo "cri-tools.sh: fetching $MOD@$VERSION"
SRC=$(cd "$WORK" && go mod download -json "$MOD@$VERSION" | jq -r .Dir)
[[ -d $SRC ]] || { echo "cri-tools.sh: download of $MOD@$VERSION failed" >&2; exit 1; }

# A go.mod go line newer than the installed Go needs the newer toolchain.
want=$(awk '$1 == "go" {print $2; exit}' "$SRC/go.mod")
have=$(go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | tail -1) != "$have" ]]; then
	echo "cri-tools.sh: $MOD@$VERSION needs Go $want, this machine has $have: using GOTOOLCHAIN=$NEWER_TOOLCHAIN"
	export GOTOOLCHAIN=$NEWER_TOOLCHAIN
fi

LDFLAGS="-s -w -X $MOD/pkg/version.Version=$VERSION"
cp -r "$SRC" "$WORK/src"
chmod -R u+w "$WORK/src"
echo "cri-tools.sh: building crictl and critest into $DIR"
GOBIN=$WORK go install -trimpath -ldflags "$LDFLAGS" "$MOD/cmd/crictl@$VERSION"
(cd "$WORK/src" && go test -c -trimpath -ldflags "$LDFLAGS" -o "$WORK/critest" ./cmd/critest)
install -m 0755 "$WORK/crictl" "$WORK/critest" "$DIR/"
echo "$VERSION" >"$DIR/.version"
echo "cri-tools.sh: $("$DIR/crictl" --version 2>/dev/null), critest $VERSION"
