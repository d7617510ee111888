#!/bin/bash
# make demo: boot a QEMU guest with Debian's 6.12 kernel (6.1 if absent),
# load ferry.ko and run the main job there. Today the main job is
# `ferry check` on a prepared host; the live-migration issue turns it into
# a real migration between two guests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k=6.12
ls /boot/vmlinuz-6.12.* >/dev/null 2>&1 || k=6.1
exec "$top/tests/vm/run" -k "$k" "$top/tests/vm/demo/demo.sh" --show-log
