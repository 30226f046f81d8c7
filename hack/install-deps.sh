#!/usr/bin/env bash
# Installs what Berth's build, demo and tests need on a Debian machine
# (run as root). Everything comes from Debian's packages and the Go
# module proxy; nothing else is downloaded.
set -euo pipefail
pkgs=(
	busybox-static libseccomp-dev pkg-config gcc make git jq iproute2 uidmap util-linux
	runc crun containerd podman skopeo umoci docker-registry containernetworking-plugins
	hyperfine protobuf-compiler procps python3-docker runsc docker-compose
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts the packaged services; Berth's tests start their own
# instances on private sockets and ports, so the system ones stay off.
for svc in containerd docker-registry; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
