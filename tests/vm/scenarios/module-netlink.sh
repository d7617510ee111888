#!/bin/bash
# module-netlink: the family validates requests strictly. Unchanged for
# callers: a good INFO answers; INFO with any attribute is EINVAL with an
# extack reason; an unknown command is EOPNOTSUPP; a truncated attribute is
# EINVAL (tests/progs/nlprobe.c checks each answer). An unprivileged user
# may still read INFO (it reveals nothing about other processes).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
"$FERRY_PROGS/nlprobe"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$FERRY_BIN" check --json --no-criu) || true
assert_eq "$(jq_get "$out" module.loaded)" True "INFO readable by nobody"
