#!/bin/bash
# tcp-states: TCP_DUMP of real connections between two network namespaces,
# IPv4 and IPv6, in every state a migration meets: ESTABLISHED, SYN_SENT,
# SYN_RECV (request socket), FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK,
# CLOSING, TIME_WAIT and LISTEN with connections waiting to be accepted,
# CLOSE with unread bytes (after the peer's FIN, after a reset) and a Fast
# Open server child in SYN_RECV that wrote before the handshake ended, a
# TCP_FASTOPEN_CONNECT socket before its SYN, an orphan in LAST_ACK
# whose application closed it with only the peer's FIN unread, a
# FIN_WAIT1 orphan whose SYN is unacked (a simultaneous open, then close()),
# and an ESTABLISHED socket whose first queued skb is partly acknowledged
# and untrimmed (its peek, what CRIU dumps, holds acknowledged bytes).
# Before the dump the test writes known byte streams both ways, reads part
# of them and freezes the link by dropping packets on arrival, so that
# data is in flight, unsent and unread on both sides.
# Must be equal (tests/progs/tcp_check.c): per socket, the export vs what
# the kernel says for the same socket -- TCP_QUEUE_SEQ of both queues,
# TCP_REPAIR_WINDOW, TCP_MAXSEG (repair and normal), SIOCINQ/SIOCOUTQ/
# SIOCOUTQNSD, TCP_INFO state/MSS/options/wscale/snd_wnd, keepalive and
# user-timeout getsockopts, TCP_TIMESTAMP (clock runs on: ordered, close);
# the exported queue bytes vs the peeked queues and vs exactly the stream
# bytes written-but-unacked / received-but-unread. TIME_WAIT: sequence
# numbers = the closed socket's write_seq+FIN and the peer's write_seq+FIN,
# timestamps state, timer left. Pending children: data = bytes the clients
# wrote, marked ACCEPT_PENDING with their listener's cookie, and equal to
# the accepted sockets afterwards. The CLI's --json of the ESTABLISHED case
# is checked for the documented keys and the same sequence numbers.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/scenarios/tcp-lib.inc"
trap tcp_ns_down EXIT

# Slow TCG guests: no spurious retransmission timeouts from tiny RTT samples.
sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=1

rc=0
for fam in 4 6; do
	for sc in established syn finwait1 fin closing timewait listen closed fastopen orphan simopen partial; do
		tcp_ns_up
		export TC_JSON=$FERRY_OUT/$sc-$fam.json
		if "$FERRY_PROGS/tcp_check" "$sc" "$fam"; then
			echo "ok: $sc IPv$fam"
		else
			echo "FAIL: $sc IPv$fam"
			rc=1
		fi
	done
done

# The same three without FERRY_TCP_F_SEQ_MARKS, as every module before it
# exported them, must get the queues wrong, and the checks must say so:
# this is what the marks fix, and the proof that these checks can fail.
for fam in 4 6; do
	for sc in closed:"after FIN: exported unread bytes" fastopen:"child: exported bytes vs written" \
		simopen:"simopen: queue data incomplete"; do
		want=${sc#*:} sc=${sc%%:*}
		tcp_ns_up
		if TC_LEGACY=1 env -u TC_JSON "$FERRY_PROGS/tcp_check" "$sc" "$fam" > "$FERRY_OUT/legacy-$sc-$fam.log" 2>&1; then
			echo "FAIL: legacy $sc IPv$fam passed: the checks cannot see the loss"
			rc=1
		elif grep -q "$want" "$FERRY_OUT/legacy-$sc-$fam.log"; then
			echo "ok: legacy $sc IPv$fam loses bytes, as before the marks ($want)"
		else
			echo "FAIL: legacy $sc IPv$fam failed, but not with \"$want\":"
			cat "$FERRY_OUT/legacy-$sc-$fam.log"
			rc=1
		fi
	done
done

# The CLI's JSON view of an established pair (saved by tcp_check).
for fam in 4 6; do
	python3 - "$FERRY_OUT/established-$fam.json" <<'PY' || rc=1
import json, sys
d = json.load(open(sys.argv[1]))
socks = [s for s in d["sockets"] if s["state"] == "ESTABLISHED"]
assert len(socks) >= 2, "want both ends of the connection"
for s in socks:
    for k in ("snd_una", "snd_nxt", "write_seq", "rcv_nxt", "copied_seq", "snd_wl1",
              "snd_wnd", "max_window", "rcv_wnd", "rcv_wup", "mss_clamp", "mss_cache",
              "snd_wscale", "rcv_wscale", "ts_offset", "ts_recent", "sndq_bytes",
              "unsent_bytes", "rcvq_bytes", "pid", "fd", "cookie", "inode"):
        assert isinstance(s[k], int), k
    assert s["data_complete"] is True
    assert len(s["send_data"]) == 2 * s["send_data_len"]
    assert len(s["recv_data"]) == 2 * s["recv_data_len"]
    assert s["sndq_bytes"] == (s["write_seq"] - s["snd_una"]) % 2**32
    assert s["rcvq_bytes"] == s["recv_data_len"]
# The two ends mirror each other: what one has acked the other has received.
a, b = socks[0], socks[1]
assert a["sport"] == b["dport"] and a["dport"] == b["sport"]
print("ok: CLI --json", sys.argv[1])
PY
done
exit $rc
