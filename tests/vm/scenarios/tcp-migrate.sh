#!/bin/bash
# tcp-migrate: the TCP_DUMP export alone is enough to move a live
# connection. One end of an IPv4 and of an IPv6 connection between netns
# fa and fb, with data in flight, unsent and unread both ways, is dumped,
# closed silently, its address moved to a new netns fc, rebuilt there with
# TCP_REPAIR from the export (user/tcp/tcp_state.c ferry_tcp_restore), and the
# byte streams go on with the untouched peer: 400 kB each way, every byte
# checked against the stream pattern at its position, then an orderly EOF
# on both sides (tests/progs/tcp_migrate.c).
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/scenarios/tcp-lib.inc"
trap tcp_ns_down EXIT
for fam in 4 6; do
	tcp_ns_up
	"$FERRY_PROGS/tcp_migrate" $fam
done
