#!/bin/bash
# make demo: boot two QEMU guests with Debian's 6.12 kernel (6.1 if absent),
# load ferry.ko and run the main job: a live migration of a running
# workload from one guest to another (tests/vm/demo/demo.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k=6.12
ls /boot/vmlinuz-6.12.* >/dev/null 2>&1 || k=6.1
exec "$top/tests/vm/run" -k "$k" "$top/tests/vm/demo/demo.sh" --show-log
