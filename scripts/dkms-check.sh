#!/bin/bash
# DKMS round trip as a host would do it: `dkms add` this tree, `dkms build`
# ferry/VERSION for every installed Debian kernel, then remove it again.
# (Loading cannot be tested on this machine's own kernel; the VM scenarios
# load the module built the same way.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
command -v dkms >/dev/null || { echo "dkms-check: ERROR: dkms not installed (make deps)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "dkms-check: ERROR: needs root" >&2; exit 1; }
stage=
cleanup() {
	dkms remove "ferry/$ver" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/ferry-$ver" ${stage:+"$stage"}
}
cleanup				# a leftover from an interrupted run
stage=$(mktemp -d)
trap cleanup EXIT
# What a release tarball carries: the module side only.
mkdir -p "$stage/ferry-$ver"
cp -a "$top/Kbuild" "$top/dkms.conf" "$top/kmod" "$top/include" "$stage/ferry-$ver/"
rm -f "$stage/ferry-$ver"/kmod/*.o "$stage/ferry-$ver"/kmod/*.ko "$stage/ferry-$ver"/kmod/.*.cmd
dkms add "$stage/ferry-$ver" >/dev/null
rc=0
n=0
for h in /usr/src/linux-headers-*-amd64; do
	kver=${h#/usr/src/linux-headers-}
	[ -d "/lib/modules/$kver" ] || continue
	n=$((n + 1))
	if dkms build "ferry/$ver" -k "$kver" >"$stage/build-$kver.log" 2>&1 &&
	   ls /var/lib/dkms/ferry/"$ver"/"$kver"/x86_64/module/ferry.ko* >/dev/null 2>&1; then
		echo "PASS dkms build ferry/$ver -k $kver"
	else
		echo "FAIL dkms build ferry/$ver -k $kver"
		tail -n 30 "$stage/build-$kver.log"
		find /var/lib/dkms/ferry -name make.log -exec tail -n 30 {} \; 2>/dev/null
		rc=1
	fi
done
[ $n -ge 2 ] || { echo "FAIL dkms: fewer than two kernels installed"; rc=1; }
exit $rc
