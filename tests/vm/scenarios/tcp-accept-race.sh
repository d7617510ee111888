#!/bin/bash
# tcp-accept-race: a netns TCP_DUMP reports each socket exactly once while
# connections are being accepted (tests/progs/tcp_accept_race.c): a
# connection accepted between the dump's listening-hash pass and its
# established-hash pass must not come twice, one inside accept() must not
# be missed. Runs in a network namespace of its own.
# What must be unchanged: in every dump, no cookie twice, every
# connection end once.
set -euo pipefail
. tests/vm/lib/assert.sh
lsmod | grep -q '^ferry ' || insmod "$FERRY_KO"
unshare -n sh -c "ip link set lo up && exec '$FERRY_PROGS/tcp_accept_race' 150"
