#!/bin/bash
# Build ferry.ko against every installed Debian kernel's headers
# (/usr/src/linux-headers-*-amd64), each in its own copy of the module
# sources under OUT/KVER/, so that builds for different kernels never share
# objects. Fails on any compiler warning. Prints OUT/KVER/kmod/ferry.ko.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/kmod}
mkdir -p "$out"
out=$(cd "$out" && pwd)

shopt -s nullglob
hdrs=(/usr/src/linux-headers-*-amd64)
if [ ${#hdrs[@]} -eq 0 ]; then
	echo "modules-all: ERROR: no /usr/src/linux-headers-*-amd64 installed (run 'make deps')" >&2
	exit 1
fi
have_61=0 have_612=0
rc=0
for h in "${hdrs[@]}"; do
	kver=${h#/usr/src/linux-headers-}
	case $kver in 6.1.*) have_61=1 ;; 6.12.*) have_612=1 ;; esac
	dst=$out/$kver
	mkdir -p "$dst"
	# Copy only what Kbuild needs; rsync-like refresh keeps mtimes.
	cp -a --update "$top/Kbuild" "$top/dkms.conf" "$dst/"
	mkdir -p "$dst/kmod" "$dst/include"
	cp -a --update "$top"/kmod/*.c "$top"/kmod/*.h "$top/kmod/Kbuild" "$dst/kmod/"
	cp -a --update "$top/include/." "$dst/include/"
	# Drop sources that were removed from kmod/ since the last copy.
	for f in "$dst"/kmod/*.c "$dst"/kmod/*.h; do
		[ -e "$top/kmod/$(basename "$f")" ] || rm -f "$f"
	done
	log=$dst/build.log
	echo "modules-all: building ferry.ko for $kver (about a minute)"
	if ! make -C "$h" M="$dst" modules >"$log" 2>&1; then
		echo "modules-all: FAILED for $kver:" >&2
		cat "$log" >&2
		rc=1
		continue
	fi
	# "Skipping BTF generation" is kbuild's notice that no vmlinux is
	# installed, not a compiler warning.
	if grep -iE 'warning|error' "$log" | grep -v 'Skipping BTF generation' >/dev/null; then
		echo "modules-all: warnings for $kver (zero allowed):" >&2
		grep -iE 'warning|error' "$log" | grep -v 'Skipping BTF generation' >&2
		rc=1
		continue
	fi
	# The sparse scan's hot loop must fit its own 512-byte-aligned section
	# (kmod/dirty_walk.c, ferry_first_maybe): then it never straddles a
	# page of the module's text, which costs 1.5x under TCG.
	scan=$(objdump -h "$dst/kmod/ferry.ko" | awk '$2 == ".text.ferry_scan" { print $3 " " $7 }')
	if [ -z "$scan" ] || [ $((16#${scan% *})) -gt 512 ] || [ "${scan#* }" != "2**9" ]; then
		echo "modules-all: $kver: section .text.ferry_scan missing, over 512 bytes or not 512-aligned ($scan)" >&2
		rc=1
		continue
	fi
	echo "modules-all: $kver OK -> $dst/kmod/ferry.ko"
done
if [ $have_61 = 0 ] || [ $have_612 = 0 ]; then
	echo "modules-all: ERROR: need headers for both 6.1 and 6.12 (have 6.1=$have_61 6.12=$have_612); run 'make deps'" >&2
	rc=1
fi
exit $rc
