#!/bin/bash
# tcp-wrap: a TCP_DUMP queue export that goes on in a later message, after
# the socket moved 2^32 bytes, never exports other bytes than those of its
# snapshot: 32-bit sequence numbers then name bytes 4 GiB later in the
# stream, and the module tells with the 64-bit byte counters
# (tests/progs/tcp_wrap.c). What must be unchanged: every exported byte is
# the stream's byte at its position; the export ends with GONE.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
ip link set lo up
"$FERRY_PROGS"/tcp_wrap
