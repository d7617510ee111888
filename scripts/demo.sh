#!/bin/bash
# make demo: boot two QEMU guests with Debian's 6.12 kernel (6.1 if absent),
# load ferry.ko and run the main job, a live migration of a running Podman
# container with its connections from one guest to the other
# (tests/vm/demo/container.sh); then, in two fresh guests, the same for a
# plain process tree with its service address (tests/vm/demo/demo.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
k=6.12
ls /boot/vmlinuz-6.12.* >/dev/null 2>&1 || k=6.1
echo "==== demo 1 of 2: a Podman container moves live (Podman is slow under TCG: ~5 min)"
"$top/tests/vm/run" -k "$k" "$top/tests/vm/demo/container.sh" --show-log
rc1=$?
echo "==== demo 2 of 2: a process tree and its service address move live"
"$top/tests/vm/run" -k "$k" "$top/tests/vm/demo/demo.sh" --show-log
rc2=$?
echo "==== demo: container $([ $rc1 = 0 ] && echo PASSED || echo "FAILED ($rc1)"), process $([ $rc2 = 0 ] && echo PASSED || echo "FAILED ($rc2)")"
[ $rc1 = 0 ] && [ $rc2 = 0 ]
