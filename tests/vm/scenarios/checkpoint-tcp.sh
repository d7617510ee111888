#!/bin/bash
# ferry-vm: hosts=2
# checkpoint-tcp: `ferry ha` checkpoints a server with 4 established TCP
# connections (clients on host b streaming checked data both ways) every
# second, keeping 2 versions; host a then dies (its link goes down, the
# server is killed behind it) and host b restores the server from the
# store with `ferry restore --move-addr`.
#
# Topology as in migrate-tcp: the service address 10.99.0.100/24 is on a's
# link; the clients run on b in network namespace "cli" (10.99.0.50/24)
# bridged onto the link.
#
# Must hold, and how it is checked:
#  - checkpoints do not disturb the connections: after `ferry ha` both ends
#    report 0 resets and 0 mismatches, and every connection made progress;
#  - retention: `ferry ha --count 3 --keep 2` exits 0 and leaves exactly
#    versions 2 and 3, both complete, nothing half-removed;
#  - each version recorded the 4 connections;
#  - failover: `ferry restore` on b restores version 3 under the server's
#    original PID, adds and announces the service address, and the
#    connections come back closed as documented: each client connection is
#    reset (its peer is gone) rather than left hanging, and the restored
#    listening socket accepts a new connection.
set -euo pipefail
. "$FERRY_SRC/tests/vm/lib/assert.sh"
. "$FERRY_SRC/tests/vm/lib/lan.sh"
. "$FERRY_SRC/tests/vm/lib/stream.sh"
S=$FERRY_PROGS/tcp_stream
VIP=10.99.0.100
CLI_IP=10.99.0.50
PORT=7945
N=4
STORE=$FERRY_SHARED/store
dev=$FERRY_NETDEV

if [ "$FERRY_ROLE" = b ]; then
	CP=
	cleanup() {
		set +e
		[ -n "$CP" ] && kill -9 "$CP" 2>/dev/null
		[ -s "$FERRY_SHARED/srv.pid" ] && kill -9 "$(cat "$FERRY_SHARED/srv.pid")" 2>/dev/null
		ip addr del "$VIP/24" dev br0 2>/dev/null
		lan_client_down cli
		return 0
	}
	trap cleanup EXIT
	lan_client_up cli "$CLI_IP"
	barrier netready
	barrier listening 300
	stream_clients_start "$VIP" $PORT
	barrier clients-up
	barrier checkpointed 900
	s=$(status "$CP" /tmp/cli.st); echo "clients after the checkpoints: $s"
	check_ok "$s" "clients after the checkpoints"
	progress /tmp/cli.0 /tmp/cli.st "clients after the checkpoints"
	barrier clients-checked
	barrier a-died 300

	rc=0
	"$FERRY_BIN" versions --dir "$STORE" >"$FERRY_OUT/versions.txt" 2>&1 || rc=$?
	cat "$FERRY_OUT/versions.txt"
	assert_eq "$rc" 0 "ferry versions exit status"
	assert_eq "$(grep -c ' complete$' "$FERRY_OUT/versions.txt")" 2 "complete versions"
	assert_eq "$(awk 'NR > 1 {print $1}' "$FERRY_OUT/versions.txt" | tr '\n' ' ')" "2 3 " \
		"versions kept"
	ls -a "$STORE" | grep -q '\.del$\|\.tmp$' && fail "half-removed or unpublished versions left"

	SP=$(cat "$FERRY_SHARED/srv.pid")
	rc=0
	"$FERRY_BIN" restore --dir "$STORE" --move-addr "$VIP/24" --json \
		>"$FERRY_OUT/restore.json" 2>"$FERRY_OUT/restore.log" || rc=$?
	cat "$FERRY_OUT/restore.log" "$FERRY_OUT/restore.json"
	assert_eq "$rc" 0 "ferry restore exit status"
	r=$(cat "$FERRY_OUT/restore.json")
	assert_eq "$(jq_get "$r" version)" 3 "version restored"
	assert_eq "$(jq_get "$r" root_pid)" "$SP" "restored server PID"
	assert_eq "$(jq_get "$r" tcp_connections_closed)" "$N" "connections restored closed"
	kill -0 "$SP" || fail "restored server does not run"
	ip -4 addr show br0 | grep -q "inet $VIP/" || fail "$VIP is not on b"
	ss -ltnp | grep "$VIP:$PORT" | grep -q "pid=$SP," ||
		{ ss -ltnp; fail "the restored server does not listen on $VIP:$PORT"; }
	# the clients' connections end with a reset, not a hang
	for i in $(seq 60); do
		s=$(status "$CP" /tmp/cli.st)
		[ "$(field "$s" resets)" = "$N" ] && break
		sleep 1
	done
	echo "clients after the failover: $s"
	assert_eq "$(field "$s" resets)" "$N" "client connections reset after the failover"
	assert_eq "$(field "$s" mismatches)" 0 "bytes out of place"
	ip netns exec cli timeout 10 bash -c "exec 3<>/dev/tcp/$VIP/$PORT" ||
		fail "no new connection to the restored listening socket"
	echo "ok: version 3 restored on b; its connections closed, its listener takes new ones"
	barrier checked
	exit 0
fi

# role a
echo 30000 >/proc/sys/kernel/ns_last_pid
cd /
cleanup() {
	set +e
	[ -s /tmp/srv.pid ] && kill -9 "$(cat /tmp/srv.pid)" 2>/dev/null
	ip link set "$dev" up
	ip addr del "$VIP/24" dev "$dev" 2>/dev/null
	return 0
}
trap cleanup EXIT
rm -rf "$STORE"
ip neigh flush dev "$dev"
barrier netready
stream_server_start "$VIP" $PORT

rc=0
"$FERRY_BIN" ha "$SP" --dir "$STORE" --interval 1 --keep 2 --count 3 --max-rounds 3 --json \
	>"$FERRY_OUT/ha.json" 2>"$FERRY_OUT/ha.log" || rc=$?
cat "$FERRY_OUT/ha.log" "$FERRY_OUT/ha.json"
assert_eq "$rc" 0 "ferry ha exit status"
assert_eq "$(wc -l <"$FERRY_OUT/ha.json")" 3 "versions reported"
while read -r j; do
	assert_eq "$(jq_get "$j" tcp_connections)" "$N" "connections in version $(jq_get "$j" version)"
done <"$FERRY_OUT/ha.json"
grep -q "version 1 removed (--keep 2)" "$FERRY_OUT/ha.log" || fail "version 1 was not removed"
sleep 2
v=$(status "$SP" /tmp/srv.st); echo "server after the checkpoints: $v"
check_ok "$v" "server after the checkpoints"
progress /tmp/srv.0 /tmp/srv.st "server after the checkpoints"
barrier checkpointed
barrier clients-checked
# host a dies: off the network first, so that nothing it does reaches b
ip link set "$dev" down
kill -9 "$SP"
barrier a-died
barrier checked 600
