#!/bin/bash
# ferry-vm: hosts=2
# ferry-vm: own-boot
# xfail-kernel-panic: a guest whose kernel panics must end its job at once.
# Role a panics its kernel (sysrq-c; writing /proc/sysrq-trigger works
# whatever kernel.sysrq says), role b waits like a peer at a barrier would.
# The console watcher must see the panic, stop both guests within seconds
# and the verdict must say "guest kernel crashed"; scripts/check.sh checks
# the reason and the time, not only that this script FAILed. Without the
# watcher, role b would sleep until the script's time limit. own-boot: the
# panic takes this boot down, no other script must be in it.
# shellcheck source=../lib/assert.sh
. "$FERRY_SRC/tests/vm/lib/assert.sh"
barrier both-up 300
if [ "$FERRY_ROLE" = a ]; then
	sync
	echo c >/proc/sysrq-trigger
	fail "still running after sysrq-c"
fi
sleep 3000
fail "role b was not stopped when its peer's kernel crashed"
