#!/bin/bash
# mkinitrd.sh KVER OUT.cpio.gz
# A tiny initramfs for test guests: static busybox, the virtio and 9p
# modules of KVER (with their dependencies, in load order, decompressed),
# and tests/vm/lib/init, which mounts the host's root read-only over 9p
# and hands over to the test runner.
set -euo pipefail
kver=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' || {
	echo "mkinitrd: ERROR: /bin/busybox must be the static one (apt-get install busybox-static)" >&2
	exit 1
}
[ -d "/lib/modules/$kver" ] || { echo "mkinitrd: ERROR: no /lib/modules/$kver" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$tmp/bin/busybox"
cp "$here/init" "$tmp/init"
chmod +x "$tmp/init"

declare -A seen=()
order=()
add_module() {
	local m=$1 f dep
	[ -n "${seen[$m]:-}" ] && return 0
	seen[$m]=1
	f=$(modinfo -k "$kver" -F filename "$m" 2>/dev/null) || {
		echo "mkinitrd: ERROR: module $m not found for $kver" >&2
		return 1
	}
	[ "$f" = "(builtin)" ] && return 0
	for dep in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do
		add_module "$dep"
	done
	order+=("$m:$f")
}
# fscache is a module on 6.1 and merged into netfs on 6.12.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
	 netfs fscache 9pnet 9pnet_virtio 9p; do
	if modinfo -k "$kver" -F filename "$m" >/dev/null 2>&1; then
		add_module "$m"
	fi
done
: >"$tmp/modules.order"
for e in "${order[@]}"; do
	m=${e%%:*} f=${e#*:}
	case $f in
	*.ko.xz)  xz -dc "$f" >"$tmp/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$tmp/lib/modules/$m.ko" ;;
	*.ko.gz)  gzip -dc "$f" >"$tmp/lib/modules/$m.ko" ;;
	*)        cp "$f" "$tmp/lib/modules/$m.ko" ;;
	esac
	echo "$m" >>"$tmp/modules.order"
done
(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
