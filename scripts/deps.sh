#!/bin/bash
# Install every Debian package ferry needs to build, test and demo:
# non-interactive and idempotent (already-installed packages are skipped).
set -euo pipefail
pkgs=(
	build-essential pkg-config git python3 jq cpio xz-utils zstd kmod file
	libmnl-dev libzstd-dev libelf-dev libcmocka-dev libprotobuf-c-dev libgnutls28-dev
	clang libclang-rt-14-dev
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	qemu-system-x86 busybox-static
	criu nftables iptables iproute2 procps util-linux
	dkms
	podman runc conmon netavark golang-github-containers-common
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
