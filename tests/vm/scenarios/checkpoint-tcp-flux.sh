#!/bin/bash
# checkpoint-tcp-flux: the state behind a checkpoint-tcp failure seen in CI
# ("recv failed (1201, want 652)" from CRIU's libsoccr), made on purpose
# and met by the real CRIU: a server (tests/progs/tcp_partial_hold, in
# namespace fb) whose connection's send queue starts with a partly
# acknowledged, untrimmed skb, held for about 25 s; its client in fa gets
# no data segment until the script lets it.
# Must hold:
#  - the test bed: the server's SIOCOUTQ is B and C (600 bytes), with one
#    retransmitted segment unacknowledged;
#  - `ferry checkpoint` of it: CRIU's first dump fails on that send queue
#    (its own message in ferry's error: without the retry the checkpoint
#    fails here); ferry says it tries once more when the connections have
#    recovered, and waits while one still retransmits (sock_diag); once the
#    client may receive again, the server's next retransmission trims the
#    skb and is acknowledged, and the second version succeeds: exit 0, one
#    complete version holding the connection;
#  - the connection survives it all: the server's socket is ESTABLISHED
#    with nothing left to send once the client has acknowledged B and C.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/scenarios/tcp-lib.inc"
S=/var/tmp/ckpt-flux
H=
cleanup() {
	set +e
	[ -n "$H" ] && pkill -9 -P "$H" 2>/dev/null
	[ -n "$H" ] && kill -9 "$H" 2>/dev/null
	rm -rf "$S" /tmp/flux.ready
	tcp_ns_down
	return 0
}
trap cleanup EXIT

sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=1
tcp_ns_up
# the server's RTO: 14 s, so that the state lasts long enough for CRIU
# (from about 17 s to 42 s; see tcp_partial_hold.c)
ip -n fb route add 10.0.0.1/32 dev vb rto_min 14s
rm -rf "$S" /tmp/flux.ready
mkdir -p "$S"
cd /
setsid "$FERRY_PROGS/tcp_partial_hold" 4 /tmp/flux.ready </dev/null >"$FERRY_OUT/hold.log" 2>&1 &
H=$!
disown "$H"	# its end at the cleanup is no news
for _ in $(seq 600); do [ -s /tmp/flux.ready ] && break; sleep 0.1; done
[ -s /tmp/flux.ready ] || { cat "$FERRY_OUT/hold.log"; fail "the holder never set the state up"; }
read -r P outq unacked retrans </tmp/flux.ready
echo "server $P: SIOCOUTQ $outq, $unacked segment(s) unacknowledged, $retrans retransmitted"
assert_eq "$outq" 600 "test bed: the server's unacknowledged bytes (B and C)"
[ "$retrans" -ge 1 ] || fail "test bed: no retransmitted segment unacknowledged"

rc=0
# in fb's network namespace only: `ip netns exec` would give CRIU a mount
# namespace of its own, and CRIU would then dump the tree's
nsenter --net=/run/netns/fb "$FERRY_BIN" checkpoint "$P" --dir "$S/store" --max-rounds 2 --json \
	>"$FERRY_OUT/ckpt.json" 2>"$FERRY_OUT/ckpt.log" &
C=$!
for _ in $(seq 1200); do
	grep -q "once more" "$FERRY_OUT/ckpt.log" && break
	kill -0 "$C" 2>/dev/null || break
	sleep 0.1
done
grep -q "recv failed (" "$FERRY_OUT/ckpt.log" || {
	cat "$FERRY_OUT/ckpt.log"
	fail "CRIU's first dump did not fail on the send queue (the state was gone before it: test bed)"
}
grep -q "once more" "$FERRY_OUT/ckpt.log" || { cat "$FERRY_OUT/ckpt.log"; fail "no retry announced"; }
ip netns exec fa nft delete table inet ferrytest	# the client may receive again
wait "$C" || rc=$?
cat "$FERRY_OUT/ckpt.log"
assert_eq "$rc" 0 "ferry checkpoint exit status"
grep -q "still retransmitting" "$FERRY_OUT/ckpt.log" || fail "ferry did not wait for the connection to recover"
j=$(cat "$FERRY_OUT/ckpt.json")
assert_eq "$(jq_get "$j" version)" 1 "the version published"
assert_eq "$(jq_get "$j" tcp_connections)" 1 "connections in the version"
vj=$("$FERRY_BIN" versions --dir "$S/store" --json)
assert_eq "$(jq_get "$vj" versions.0.state)" complete "the version's state"
for _ in $(seq 100); do
	st=$(ip netns exec fb ss -Htn state established "sport = :5999" | awk '{print $2}')
	[ "$st" = 0 ] && break
	sleep 0.1
done
assert_eq "$st" 0 "the server's send queue once the client acknowledged B and C (ss Send-Q)"
echo "ok: checkpoint-tcp-flux"
