#!/bin/bash
# tcp-race: sockets closing (FIN, RST, SO_LINGER 0, both ends at once)
# while TCP_DUMP walks them in tree and netns mode with queue data larger
# than one message. Every dump must succeed and parse, chunk bytes must be
# the stream's bytes at their position (vanished bytes are reported as
# GONE, never replaced), and the kernel log must stay clean; then ferry.ko
# unloads with no socket reference leaked (rmmod succeeds, and a fresh
# insmod + dump works). tests/progs/tcp_race.c, IPv4 and IPv6.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/scenarios/tcp-lib.inc"
trap tcp_ns_down EXIT
for fam in 4 6; do
	tcp_ns_up
	"$FERRY_PROGS/tcp_race" $fam
done
tcp_ns_down
rmmod ferry
insmod "$FERRY_KO"
assert_rc 0 "$FERRY_BIN" tcp --netns --data 1

# A dump abandoned half-way (many sockets pinned by it) keeps ferry.ko
# loaded; closing its socket releases every reference: the module then
# unloads and the sockets' namespace is torn down cleanly.
tcp_ns_up
ip netns exec fa python3 - <<'PY' &
import socket, time
l = socket.socket(); l.bind(("10.0.0.1", 9000)); l.listen(512)
cs = []
for i in range(300):
    c = socket.create_connection(("10.0.0.1", 9000)); c.send(b"x" * 3000); cs.append(c)
time.sleep(600)
PY
holder_pid=$!
n=0
for i in $(seq 1 240); do
	n=$("$FERRY_BIN" tcp --netns --json "$holder_pid" 2>/dev/null |
	    jq -r .count 2>/dev/null) || n=0
	[ "$n" -ge 601 ] && break
	sleep 0.5
done
[ "$n" -ge 601 ] || fail "only $n sockets set up"
hold_in=/tmp/tcp-hold.in hold_out=/tmp/tcp-hold.out
rm -f "$hold_in" "$hold_out"
mkfifo "$hold_in"
"$FERRY_PROGS/tcp_holddump" "$holder_pid" <"$hold_in" >"$hold_out" &
hold=$!
exec 9>"$hold_in"
for i in $(seq 1 100); do grep -q held "$hold_out" 2>/dev/null && break; sleep 0.2; done
grep -q held "$hold_out" || fail "dump did not start"
if rmmod ferry 2>/dev/null; then fail "ferry.ko unloaded under a pending dump"; fi
echo "ok: rmmod refused while a dump is pending"
exec 9>&-
wait $hold
kill $holder_pid; wait $holder_pid 2>/dev/null || true
tcp_ns_down
rmmod ferry
echo "ok: rmmod after the dump was abandoned"
insmod "$FERRY_KO"
